"""The web dashboard and HTTP API over a built index: ``create_app(result_or_spec)``; ``hubindex serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app`` loads FastAPI on first use (PEP 562), so ``hubindex serve --help`` starts fast."""
    if name == "create_app":
        from hubindex.web.app import create_app

        globals()["create_app"] = create_app
        return create_app
    raise AttributeError(f"module 'hubindex.web' has no attribute {name!r}")
