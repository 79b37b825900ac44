"""HTTP hardening: the Host-header check (DNS rebinding), security headers on every response, and neutralising
spreadsheet formulas in exported cells (CSV/XLSX injection).

* :class:`HostGuard` (ASGI middleware) answers 400 to a request whose ``Host`` header (port removed) is not one
  of the allowed names, and adds :data:`SECURITY_HEADERS` to every response it lets through. A DNS-rebinding
  page reaches the server under the attacker's host name, so refusing unknown names keeps it out.
* :func:`allowed_hosts` = loopback names (``127.0.0.1``, ``localhost``, ``::1``), the bound host and whatever
  the user adds (``hubindex serve --allowed-host NAME``, env ``HUBINDEX_ALLOWED_HOSTS=a,b``; ``*`` turns the
  check off).
* :func:`safe_cell` applies the OWASP CSV-injection rule: a text cell starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return gets a leading ``'`` so a spreadsheet shows it as text; numbers (and text that is
  a plain decimal number such as ``-1.5``) are kept as they are. :func:`one_line` removes line breaks and other
  control characters from text put on a CSV comment line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from hubindex.publish.tables import safe_cell

__all__ = ["HostGuard", "allowed_hosts", "host_name", "safe_cell", "one_line", "SECURITY_HEADERS", "CSP",
           "LOOPBACK", "ENV_ALLOWED_HOSTS"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ENV_ALLOWED_HOSTS = "HUBINDEX_ALLOWED_HOSTS"

# Everything from this server; no inline or eval'd script (the dashboard and the vendored Swagger UI load only
# same-origin files); inline styles are allowed because Plotly and Swagger UI set them; images may be
# data:/blob: (chart PNG export).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def host_name(host: str) -> str:
    """The name part of a Host header value, lower-cased: ``[::1]:8000`` → ``::1``, ``Localhost:80`` →
    ``localhost``, ``example.org.`` → ``example.org``."""
    h = host.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def allowed_hosts(bound: str | None = None, extra: Iterable[str] = (), *, env: bool = True) -> frozenset[str]:
    """Loopback names + the bound host (unless a wildcard address such as ``0.0.0.0``) + ``extra`` + the
    comma-separated names in ``$HUBINDEX_ALLOWED_HOSTS`` (when ``env``)."""
    names = set(LOOPBACK)
    if bound and bound not in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard address is no host name
        names.add(host_name(bound))
    names.update(host_name(x) for x in extra if x.strip())
    if env:
        names.update(host_name(x) for x in os.environ.get(ENV_ALLOWED_HOSTS, "").split(",") if x.strip())
    return frozenset(names)


class HostGuard:
    """ASGI middleware: 400 for a ``Host`` outside ``hosts`` (``"*"`` in it allows any), security headers on
    every response (HTML or not)."""

    def __init__(self, app: Any, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.any = "*" in self.hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k == b"host"), None)

        async def send_secure(msg: MutableMapping[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers") or []}
                msg["headers"] = [*(msg.get("headers") or []),
                                  *((k, v) for k, v in SECURITY_HEADERS if k not in have)]
            await send(msg)

        if not self.any and (host is None or host_name(host) not in self.hosts):
            from fastapi.responses import JSONResponse

            shown = (host or "")[:100]
            resp = JSONResponse({"detail": f"Host '{shown}' is not allowed: this server answers to "
                                           f"{sorted(self.hosts)} (add names with hubindex serve --allowed-host "
                                           f"or ${ENV_ALLOWED_HOSTS})"}, status_code=400)
            await resp(scope, receive, send_secure)
            return
        await self.app(scope, receive, send_secure)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(v: Any, limit: int = 2000) -> str:
    """``v`` as text on one line: line breaks and other control characters become a space, so a CSV ``#``
    comment line cannot be broken into data lines."""
    return _CONTROL.sub(" ", str(v))[:limit]
