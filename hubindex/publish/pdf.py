"""HTML → PDF with whatever engine is installed, degrading gracefully.

Engines, in order: headless Chromium (``$HUBINDEX_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome`` on PATH; Debian: ``apt-get install chromium``), then WeasyPrint (``pip install weasyprint``).
When none works, no PDF is written and the message says what to install; the HTML report prints to PDF from any
browser as well.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["html_to_pdf", "find_chromium", "NO_ENGINE"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
NO_ENGINE = ("no PDF engine found: install Debian's `chromium` (apt-get install chromium) or "
             "`pip install weasyprint`, or open report.html in a browser and print it to PDF")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable: ``$HUBINDEX_CHROMIUM`` (empty string = disabled), else PATH."""
    env = os.environ.get("HUBINDEX_CHROMIUM")
    if env is not None:
        return env if env and (shutil.which(env) or Path(env).is_file()) else None
    for name in _CANDIDATES:
        p = shutil.which(name)
        if p:
            return p
    return None


def _is_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"%PDF-" and path.stat().st_size > 200
    except OSError:
        return False


def _chromium(exe: str, html: Path, pdf: Path, timeout: float) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="hubindex-chromium-") as profile:
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-sync", "--no-pdf-header-footer",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "HOME": profile})
        except subprocess.TimeoutExpired:
            return False, f"chromium did not finish within {timeout:.0f} s"
        except OSError as e:
            return False, f"chromium could not start ({e})"
    if _is_pdf(pdf):
        return True, f"PDF written with {Path(exe).name}"
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
    return False, f"chromium exited with code {proc.returncode} and no PDF ({tail[0][:200]})"


def _weasyprint(html: Path, pdf: Path) -> tuple[bool, str]:
    try:
        import weasyprint  # type: ignore[import-not-found]
    except Exception:  # noqa: BLE001 - ImportError or a missing system library (OSError)
        return False, "weasyprint not installed"
    try:
        weasyprint.HTML(filename=str(html)).write_pdf(str(pdf))
    except Exception as e:  # noqa: BLE001
        return False, f"weasyprint failed ({e})"
    return (True, "PDF written with weasyprint") if _is_pdf(pdf) else (False, "weasyprint wrote no PDF")


def html_to_pdf(html: Path, pdf: Path, timeout: float = 120.0) -> tuple[bool, str]:
    """Print ``html`` to ``pdf``; returns (ok, message). Never raises for a missing or failing engine."""
    html, pdf = Path(html), Path(pdf)
    reasons = []
    exe = find_chromium()
    if exe:
        ok, msg = _chromium(exe, html, pdf, timeout)
        if ok:
            return True, msg
        reasons.append(msg)
    ok, msg = _weasyprint(html, pdf)
    if ok:
        return True, msg
    pdf.unlink(missing_ok=True)
    if not reasons and msg == "weasyprint not installed":
        return False, NO_ENGINE
    return False, "no PDF written: " + "; ".join([*reasons, msg]) + f". {NO_ENGINE}"
