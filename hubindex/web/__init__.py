"""The web dashboard and HTTP API over a built index: ``create_app(result_or_spec)``; ``hubindex serve``."""

from hubindex.web.app import create_app

__all__ = ["create_app"]
