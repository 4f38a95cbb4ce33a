"""Answers a conditional GET with 304 Not Modified where the response's ETag is the one the browser holds.

Gradio's file route (the example photos, 260 kB) sends an ETag but ignores If-None-Match, so every visit
downloaded the photos again; with this middleware a returning browser gets a few hundred bytes instead.
"""

from __future__ import annotations


class NotModifiedMiddleware:
    """ASGI middleware: a 200 answer to a GET whose If-None-Match equals its ETag becomes a bodiless 304."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        held_tag = dict(scope.get("headers", [])).get(b"if-none-match") if scope["type"] == "http" else None
        if held_tag is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        answered_not_modified = False

        async def send_or_304(message):
            nonlocal answered_not_modified
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if message["status"] == 200 and headers.get(b"etag") == held_tag:
                    answered_not_modified = True
                    kept = [(name, value) for name, value in message.get("headers", [])
                            if name.lower() not in (b"content-length", b"content-type", b"content-encoding")]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            if not answered_not_modified:
                await send(message)

        await self.app(scope, receive, send_or_304)
