"""A request body limit enforced before the body is read (pure ASGI middleware)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    """Answer 413 to a body over ``max_bytes``: at once when ``Content-Length`` says so,
    otherwise as soon as the streamed body passes the limit (at most ``max_bytes`` are held
    in memory); nothing reaches the routes, so nothing is stored or authenticated."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any],
                       send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            declared = None
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Callable[..., Any]) -> None:
        body = json.dumps({"detail": [{"loc": ["body"], "type": "body_too_large",
                                       "msg": f"the request body is over the limit of "
                                              f"{self.max_bytes} bytes"}]}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
