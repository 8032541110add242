"""The public web server: the widget's page and chat endpoint, the forwarder to Rasa, and the staff inbox."""
