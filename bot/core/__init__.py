"""The shared domain: triage, causes, knowledge, clinics, contact details, answers and settings.

Every process imports it; it imports no Rasa, no web framework and no database
(an import-linter contract in pyproject.toml).
"""
