"""Brain: an embeddable conversational engine, in-process.

    import brain
    engine = brain.Engine.in_memory()
    engine.create_tenant("acme", "Acme Parties")
    engine.marketplace_apply("acme", "party_supplies")
    reply = engine.respond("web", "user-abc", "How much is the Mystical Unicorn Bundle?", tenant="acme")
    print(reply["response"])

Every call releases the GIL while Brain works, so threads run turns in parallel. Errors raise the
hosted SDK's exception names (``BrainError`` and its subclasses), with ``.status``, ``.code``,
``.request_id``, ``.body`` and, for rate limits, ``.retry_after``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Iterator, List, Optional

from ._native import (
    BrainAuthError,
    BrainBadRequestError,
    BrainError,
    BrainNotFoundError,
    BrainRateLimitError,
    BrainServerError,
    __version__,
)
from ._native import Engine as _NativeEngine

__all__ = [
    "Brain",
    "BrainAuthError",
    "BrainBadRequestError",
    "BrainError",
    "BrainNotFoundError",
    "BrainRateLimitError",
    "BrainServerError",
    "Engine",
    "Stream",
    "__version__",
]


class Stream:
    """An iterator over the reply's text deltas; ``.response`` holds the whole response dict."""

    def __init__(self, deltas: List[str], response: Dict[str, Any]) -> None:
        self._deltas = iter(deltas)
        self.response = response

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> str:
        return next(self._deltas)


class Engine:
    """An embedded Brain engine (a data directory, or memory). Share one across threads."""

    def __init__(self, native: _NativeEngine) -> None:
        self._native = native

    @classmethod
    def open(cls, path: str, config: Optional[Dict[str, Any]] = None) -> "Engine":
        """Opens (creating if needed) a data directory: brain.db + index/."""
        return cls(_NativeEngine.open(path, config))

    @classmethod
    def in_memory(cls, config: Optional[Dict[str, Any]] = None) -> "Engine":
        """An engine that keeps everything in memory."""
        return cls(_NativeEngine.in_memory(config))

    def respond(
        self,
        channel: str,
        channel_user_id: str,
        message_text: str,
        *,
        tenant: Optional[str] = None,
        api_key: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        dedup_key: Optional[str] = None,
        has_image: bool = False,
    ) -> Dict[str, Any]:
        """Runs one turn; returns the reference's response dict. Give ``tenant`` or ``api_key``."""
        return self._native.respond(
            channel, channel_user_id, message_text, tenant=tenant, api_key=api_key,
            metadata=metadata, dedup_key=dedup_key, has_image=has_image,
        )

    async def respond_async(self, channel: str, channel_user_id: str, message_text: str, **kwargs: Any) -> Dict[str, Any]:
        """``respond`` on a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.respond, channel, channel_user_id, message_text, **kwargs)

    def stream(
        self,
        tenant: str,
        channel: str,
        channel_user_id: str,
        message_text: str,
        *,
        metadata: Optional[Dict[str, Any]] = None,
        dedup_key: Optional[str] = None,
        has_image: bool = False,
    ) -> Stream:
        """Runs a turn; iterate the result for text deltas of the (guardrail-checked) reply."""
        deltas, response = self._native.respond_deltas(
            tenant, channel, channel_user_id, message_text, metadata=metadata, dedup_key=dedup_key, has_image=has_image
        )
        return Stream(deltas, response)

    def __getattr__(self, name: str) -> Any:
        # Operators (create_tenant, marketplace_apply, ingest, issue_key, keys, revoke_key, trace,
        # check_message, handle_http, register_tool, enable_tool, set_generator, tenants) are the
        # native engine's methods.
        return getattr(self._native, name)


class Brain:
    """Drop-in for the hosted Python SDK's ``Brain``: same ``respond`` signature and return value,
    running in-process against an :class:`Engine`."""

    def __init__(self, api_key: str, engine: Engine) -> None:
        self.api_key = api_key
        self.engine = engine

    def respond(
        self,
        channel: str,
        channel_user_id: str,
        message_text: str,
        metadata: Optional[Dict[str, Any]] = None,
        dedup_key: Optional[str] = None,
        has_image: Optional[bool] = None,
    ) -> Dict[str, Any]:
        return self.engine.respond(
            channel, channel_user_id, message_text, api_key=self.api_key,
            metadata=metadata, dedup_key=dedup_key, has_image=bool(has_image),
        )
