"""Running Medius: the command line, the production topology on one machine, the action server."""
