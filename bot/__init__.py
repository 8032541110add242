"""Medius: the clinic assistant's own logic, free of Rasa so it is easy to test."""
