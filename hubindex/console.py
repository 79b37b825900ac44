"""The terminal consoles every command prints to.

Piped output (CI logs, files) gets 140 columns instead of Rich's 80, so ranking tables are not wrapped cell by cell;
a real terminal keeps its own width.
"""

from __future__ import annotations

from rich.console import Console

__all__ = ["console", "err_console"]

console = Console(width=None if Console().is_terminal else 140)
err_console = Console(stderr=True)
