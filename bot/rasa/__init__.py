"""What runs inside the Rasa process: the widget's input channel, the tracker and lock stores,
the rule policy, and the measured patches to Rasa's internals (each behind its own switch)."""
