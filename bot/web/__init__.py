"""The website side of Medius: the widget's web server, and the chat channel Rasa opens for it."""
