"""Clinic staff: accounts, sessions, API tokens, and the inbox's queries over leads."""
