"""Moved to tests/support/servers.py. This name stays only for tests/integration/test_action_sessions.py:
delete it once that imports tests.support.servers."""
from tests.support.servers import Assistant, WebServer, free_port, free_ports, running_assistant  # noqa: F401
