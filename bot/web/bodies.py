"""Request bodies read with a cap: a client that sends megabytes is refused after the first few kilobytes."""
from __future__ import annotations

from typing import Optional

from starlette.requests import Request

from bot.core.guard import MAX_BODY_BYTES


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> Optional[bytes]:
    """The request body, or None once it passes `limit` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
