"""Moved to tests/support/helpers.py. This name stays only for tests/unit/test_rasa_patches.py and
tests/integration/test_action_sessions.py: delete it once they import tests.support.helpers."""
from tests.support.helpers import HttpReceiver, SilentServer, SmtpSink, TcpForwarder, Visitor, run_async  # noqa: F401
