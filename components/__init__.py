"""Custom Rasa NLU components (the `components.*` names in config.yml)."""
