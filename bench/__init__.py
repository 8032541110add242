"""Measurements: held-out NLU accuracy and speed/memory, each against Rasa's stock config."""
