"""The loss curve of a job as a small server-rendered SVG (no chart library, no script)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT, PAD = 480, 200, 36


def loss_svg(points: Sequence[Sequence[float]], *, title: str = "Training loss") -> str:
    """An SVG line chart of `points` ([step, loss] pairs); a placeholder text without any."""
    pts = [(float(s), float(v)) for s, v in points if math.isfinite(float(v))]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>')
    if not pts:
        return head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#666" ' \
                      'font-family="sans-serif" font-size="13">No loss reported yet</text></svg>'
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    xs = (x1 - x0) or 1.0
    ys = (y1 - y0) or 1.0

    def x(v: float) -> float:
        return PAD + (v - x0) / xs * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - y0) / ys * (HEIGHT - 2 * PAD)

    path = " ".join(f"{'M' if i == 0 else 'L'}{x(s):.1f},{y(v):.1f}" for i, (s, v) in enumerate(pts))
    axes = (f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>')
    labels = (f'<g font-family="sans-serif" font-size="11" fill="#444">'
              f'<text x="{PAD}" y="{HEIGHT - PAD + 14}">{x0:g}</text>'
              f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 14}" text-anchor="end">step {x1:g}</text>'
              f'<text x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">{y1:.3g}</text>'
              f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" text-anchor="end">{y0:.3g}</text></g>')
    return head + axes + labels + f'<path d="{path}" fill="none" stroke="#d9480f" stroke-width="2" ' \
        f'data-points="{len(pts)}"/></svg>'
