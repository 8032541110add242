"""Real local parts for tests: an SMTP sink, an HTTP receiver, a chatting visitor."""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List

from tests.support.servers import free_port


class SmtpSink:
    """A real SMTP server on a free local port that keeps what it receives.

    Keyword arguments go to aiosmtpd's Controller (tls_context, require_starttls, ssl_context, authenticator...).
    """

    def __init__(self, **controller_options: Any):
        from aiosmtpd.controller import Controller

        self.messages: List[dict] = []
        self.greetings = 0  # EHLO/HELO commands: any client that got in sends one before anything else
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's name
                sink.greetings += 1
                session.host_name = hostname
                return responses

            async def handle_HELO(self, server, session, envelope, hostname):  # noqa: N802 - aiosmtpd's name
                sink.greetings += 1
                session.host_name = hostname
                return f"250 {server.hostname}"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                from email import message_from_bytes, policy
                message = message_from_bytes(envelope.content, policy=policy.default)
                sink.messages.append({"to": envelope.rcpt_tos, "subject": str(message["Subject"]),
                                      "body": message.get_content(), "authenticated": bool(session.authenticated),
                                      "tls": server.transport.get_extra_info("ssl_object") is not None})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **controller_options)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class HttpReceiver:
    """A real HTTP server that records JSON POSTs and answers with the queued status codes."""

    def __init__(self, statuses: List[int]):
        self.statuses, self.posts = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.posts.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()



class TcpForwarder:
    """Forwards a local port to another: a real network path that a test can open after the fact."""

    def __init__(self, port: int, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", port))
        self.connections: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.listener.fileno() == -1:
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        """Closed like a server that went away: no new connections, and the open ones cut."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
        except OSError:
            pass
        self.listener.close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SilentServer:
    """Accepts connections and never answers: a chat server that hangs."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.held: List[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self):
        for connection in self.held:
            connection.close()
        self.listener.close()


class Visitor:
    def __init__(self, assistant, clinic: Any = "stl"):
        self.assistant = assistant
        self.sender = f"test-{uuid.uuid4().hex[:12]}"
        self.metadata = {"clinic": clinic} if clinic is not None else None
        self.replies: List[Dict[str, Any]] = []

    def says(self, text: str) -> str:
        self.replies = self.assistant.send(self.sender, text, self.metadata)
        assert self.replies, f"no reply to {text!r}"
        return " ".join(r.get("text", "") for r in self.replies)

    @property
    def buttons(self) -> List[str]:
        return [b["title"] for r in self.replies for b in r.get("buttons", [])]

    @property
    def triage(self) -> List[str]:
        """The safety tags of the last reply's messages, in order: emergency, urgent, confirm, nerve."""
        return [r["custom"]["triage"] for r in self.replies if isinstance(r.get("custom"), dict)]


def run_async(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: an earlier test in the same pytest run can leave the main
    thread marked as running an event loop, and asyncio.run refuses to start there."""
    outcome = {}

    def target():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
