"""Inline SVG charts for the static report: no JavaScript, no external files, each with a text alternative.

Every chart is an ``<svg role="img">`` whose ``<title>`` and ``<desc>`` (referenced by ``aria-labelledby``)
carry a generated text summary, so a screen reader (or a PDF's text layer) gets the content without the picture.
Colours are the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

import contextvars
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from html import escape
from typing import Union

import numpy as np

Values = Union[Sequence[float], np.ndarray]  # noqa: UP007 - runtime alias

__all__ = ["document", "PALETTE", "bar_chart", "interval_chart", "profile_chart", "heat_colour"]

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_ids: contextvars.ContextVar[Iterator[int]] = contextvars.ContextVar("hubindex_svg_ids")


@contextmanager
def document() -> Iterator[None]:
    """Number the charts' element ids from 1 within one document (deterministic output, thread-safe)."""
    token = _ids.set(itertools.count(1))
    try:
        yield
    finally:
        _ids.reset(token)


def _id(prefix: str) -> str:
    it = _ids.get(None)
    if it is None:
        it = itertools.count(1)
        _ids.set(it)
    return f"{prefix}{next(it)}"


def _num(x: float, nd: int = 1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _open(width: float, height: float, title: str, desc: str, cls: str = "chart") -> tuple[str, str]:
    t, d = _id("t"), _id("d")
    head = (f'<svg class="{cls}" role="img" aria-labelledby="{t} {d}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet">'
            f'<title id="{t}">{escape(title)}</title><desc id="{d}">{escape(desc)}</desc>')
    return head, "</svg>"


def heat_colour(v: float, lo: float, hi: float) -> tuple[str, str]:
    """Background and text colour for a score in [lo, hi] on a light-to-dark blue ramp (linear in the share)."""
    if v is None or not np.isfinite(v):
        return "#f2f2f2", "#555"
    t = 0.5 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)
    a, b = np.array([0xF7, 0xFB, 0xFF]), np.array([0x08, 0x51, 0x9C])
    c = (a + (b - a) * t).round().astype(int)
    return f"#{c[0]:02x}{c[1]:02x}{c[2]:02x}", ("#fff" if t > 0.55 else "#111")


def bar_chart(labels: Sequence[str], values: Values, *, title: str, desc: str,
              colours: Sequence[str] | None = None, value_max: float | None = None,
              legend: Sequence[tuple[str, str]] = (), nd: int = 1) -> str:
    """Horizontal bars, one row per label, in the given order; bar length = value / max(values)."""
    n = len(labels)
    row, left, right, top = 16, 190, 60, 8 + (18 if legend else 0)
    width = 760
    plot_w = width - left - right
    vals = np.asarray(values, dtype=float)
    finite = vals[np.isfinite(vals)]
    vmax = value_max if value_max is not None else (float(finite.max()) if finite.size else 1.0)
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    span = (vmax - vmin) or 1.0
    height = top + n * row + 10
    head, tail = _open(width, height, title, desc)
    parts = [head]
    x0 = left + (0 - vmin) / span * plot_w
    for i, (lab, v) in enumerate(zip(labels, vals, strict=True)):
        y = top + i * row
        col = colours[i] if colours is not None else PALETTE[0]
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" class="lab">{escape(str(lab)[:34])}</text>')
        if np.isfinite(v):
            x1 = left + (v - vmin) / span * plot_w
            xa, xb = sorted((x0, x1))
            parts.append(f'<rect x="{xa:.1f}" y="{y + 3}" width="{max(xb - xa, 0.5):.1f}" height="{row - 5}" '
                         f'fill="{col}"/>')
            parts.append(f'<text x="{xb + 4:.1f}" y="{y + 12}" class="val">{_num(v, nd)}</text>')
        else:
            parts.append(f'<text x="{left + 4}" y="{y + 12}" class="val">no score</text>')
    lx = left
    for name, col in legend:
        parts.append(f'<rect x="{lx}" y="4" width="10" height="10" fill="{col}"/>'
                     f'<text x="{lx + 14}" y="13" class="lab">{escape(name)}</text>')
        lx += 24 + 7 * len(name)
    parts.append(tail)
    return "".join(parts)


def interval_chart(labels: Sequence[str], nominal: Values, lo: Values, hi: Values,
                   median: Values | None, *, title: str, desc: str) -> str:
    """Rank intervals: a line from ``lo`` to ``hi`` per unit, a dot at the nominal rank (and a tick at the
    median); the rank axis runs left (1 = best) to right."""
    n = len(labels)
    row, left, right, top = 14, 190, 30, 24
    width = 760
    plot_w = width - left - right
    allv = np.concatenate([np.asarray(a, dtype=float) for a in (nominal, lo, hi)])
    allv = allv[np.isfinite(allv)]
    rmax = float(allv.max()) if allv.size else 1.0
    rmin = 1.0

    def x(r: float) -> float:
        return left + (r - rmin) / max(rmax - rmin, 1.0) * plot_w

    height = top + n * row + 8
    head, tail = _open(width, height, title, desc)
    parts = [head]
    for r in np.unique(np.linspace(rmin, rmax, 6).round()):
        parts.append(f'<line x1="{x(r):.1f}" x2="{x(r):.1f}" y1="{top - 4}" y2="{height - 6}" class="grid"/>'
                     f'<text x="{x(r):.1f}" y="{top - 8}" text-anchor="middle" class="val">{int(r)}</text>')
    med = np.asarray(median, dtype=float) if median is not None else None
    for i, lab in enumerate(labels):
        y = top + i * row + row / 2
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="lab">{escape(str(lab)[:34])}</text>')
        a, b, nm = float(lo[i]), float(hi[i]), float(nominal[i])
        if np.isfinite(a) and np.isfinite(b):
            parts.append(f'<line x1="{x(a):.1f}" x2="{x(b):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE[0]}" '
                         f'stroke-width="3"/>')
        if med is not None and np.isfinite(med[i]):
            parts.append(f'<line x1="{x(med[i]):.1f}" x2="{x(med[i]):.1f}" y1="{y - 5:.1f}" y2="{y + 5:.1f}" '
                         f'stroke="{PALETTE[5]}" stroke-width="2"/>')
        if np.isfinite(nm):
            parts.append(f'<circle cx="{x(nm):.1f}" cy="{y:.1f}" r="3.5" fill="#000"/>')
    parts.append(tail)
    return "".join(parts)


def profile_chart(labels: Sequence[str], values: Values, reference: Values, *, title: str,
                  desc: str, ref_label: str = "median", value_max: float = 100.0) -> str:
    """Small horizontal bars of a unit's scores with a vertical tick at a reference value (e.g. the median)."""
    n = len(labels)
    row, left, right, top = 18, 210, 50, 18
    width = 600
    plot_w = width - left - right
    vals, refs = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    allv = np.concatenate([vals[np.isfinite(vals)], refs[np.isfinite(refs)]])
    vmax = max(value_max, float(allv.max()) if allv.size else 0.0) or 1.0
    vmin = min(0.0, float(allv.min()) if allv.size else 0.0)
    span = vmax - vmin

    def x(v: float) -> float:
        return left + (v - vmin) / span * plot_w

    height = top + n * row + 6
    head, tail = _open(width, height, title, desc, cls="chart small")
    parts = [head,
             f'<rect x="{left}" y="4" width="10" height="8" fill="{PALETTE[4]}"/>'
             f'<text x="{left + 14}" y="12" class="val">score</text>'
             f'<line x1="{left + 64}" x2="{left + 64}" y1="3" y2="13" stroke="{PALETTE[5]}" stroke-width="2"/>'
             f'<text x="{left + 70}" y="12" class="val">{escape(ref_label)}</text>']
    for i, lab in enumerate(labels):
        y = top + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" class="lab">{escape(str(lab)[:30])}</text>')
        v = vals[i]
        if np.isfinite(v):
            parts.append(f'<rect x="{x(min(v, 0)):.1f}" y="{y + 3}" width="{max(abs(x(v) - x(0)), 0.5):.1f}" '
                         f'height="{row - 6}" fill="{PALETTE[4]}"/>'
                         f'<text x="{max(x(v), x(0)) + 4:.1f}" y="{y + 12}" class="val">{_num(v)}</text>')
        if np.isfinite(refs[i]):
            parts.append(f'<line x1="{x(refs[i]):.1f}" x2="{x(refs[i]):.1f}" y1="{y + 1}" y2="{y + row - 1}" '
                         f'stroke="{PALETTE[5]}" stroke-width="2"/>')
    parts.append(tail)
    return "".join(parts)
