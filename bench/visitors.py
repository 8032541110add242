"""Run the shared visitor scorer (../shared/eval/score.py) against Medius's one public port.

Usage: python -m bench.visitors [score.py options]   (with `make run` going)

Rasa's own port is closed to callers (it answers only the web server), so the
scorer talks to POST /chat on the web server, as a clinic's server would: with
`Authorization: Bearer $MEDIUS_API_TOKEN` (from the environment or .env). The
scorer itself is not changed; its requests get the header added.
"""
from __future__ import annotations

import os
import runpy
import sys

import requests

from bot.core.paths import ROOT
from bot.core.settings import get_settings

SCORER = ROOT.parent / "shared" / "eval" / "score.py"


def main() -> None:
    settings = get_settings()
    if not settings.api_token:
        raise SystemExit("Set MEDIUS_API_TOKEN (in .env) for `make run` and for this command: "
                         "the chat endpoint takes requests without a browser's Origin only with it.")
    post = requests.post

    def post_as_server(url, *args, **kwargs):
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {settings.api_token}"}
        return post(url, *args, **kwargs)

    requests.post = post_as_server
    if not any(arg.startswith("--url") for arg in sys.argv[1:]):
        sys.argv[1:1] = ["--url", f"http://127.0.0.1:{os.environ.get('WEB_PORT', '8000')}/chat"]
    sys.argv[0] = str(SCORER)
    runpy.run_path(str(SCORER), run_name="__main__")


if __name__ == "__main__":
    main()
