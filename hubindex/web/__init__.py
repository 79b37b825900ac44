"""The web dashboard and HTTP API over a built index: ``create_app(result_or_spec)``; ``hubindex serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubindex._lazy import lazy_getattr

if TYPE_CHECKING:  # pragma: no cover
    from hubindex.web.app import create_app

__all__ = ["create_app"]


# create_app loads FastAPI on first use, so ``hubindex serve --help`` starts fast
__getattr__ = lazy_getattr(__name__, {"create_app": "hubindex.web.app"})
