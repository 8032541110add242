"""The database: one engine and session factory, the models, and the conversations' retention."""
