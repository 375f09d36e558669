"""Small charts drawn on the server as inline SVG: no script, no CDN, readable without CSS."""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, BAR_HEIGHT, GAP, LABEL = 640, 18, 6, 220


def hbar_chart(
    title: str, items: Sequence[tuple[str, float | None]], *, unit: str = "%", maximum: float = 100
) -> SafeString:
    """Horizontal bars, one per label (for fill rates and the like). A value of ``None`` (no
    data: a percentage of nobody) is written "no data", never drawn as 0."""
    top = max([maximum, *(v for _, v in items if v is not None)]) or 1
    height = max(len(items), 1) * (BAR_HEIGHT + GAP) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="t-{id(items)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" class="chart">',
        f'<title id="t-{id(items)}">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(items):
        y = 20 + i * (BAR_HEIGHT + GAP)
        if value is None:
            parts.append(
                f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(label[:32])}</text>'
                f'<text x="{LABEL + 4}" y="{y + 13}" font-size="12" font-style="italic">no data</text>'
            )
            continue
        w = (WIDTH - LABEL - 60) * value / top
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + 13}" text-anchor="end" font-size="12">{escape(label[:32])}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" fill="#1f5f8b"><title>{escape(label)}: '
            f"{value:g}{unit}</title></rect>"
            f'<text x="{LABEL + w + 4:.1f}" y="{y + 13}" font-size="12">{value:g}{unit}</text>'
        )
    if not items:
        parts.append(
            f'<text x="{WIDTH / 2}" y="32" text-anchor="middle" font-size="14">No groups in this range</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def column_chart(title: str, items: Sequence[tuple[str, float]]) -> SafeString:
    """Vertical columns over time (enrollments per week)."""
    height, bottom, left = 220, 40, 30
    top = max([1, *(v for _, v in items)])
    step = (WIDTH - left) / max(len(items), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" stroke="#999"/>',
        f'<text x="0" y="14" font-size="11">{top:g}</text>',
    ]
    if not items:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" font-size="14">No enrollments in this range</text>'
        )
    for i, (label, value) in enumerate(items):
        h = (height - bottom - 20) * value / top
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="#1f5f8b">'
            f"<title>{escape(label)}: {value:g}</title></rect>"
        )
        if len(items) <= 16 or i % max(1, len(items) // 12) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 14}" font-size="10">{escape(label[5:])}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above


def line_chart(title: str, points: Sequence[tuple[str, float | None]]) -> SafeString:
    """One line from 0 to 100% (average retention by week of the program)."""
    height, bottom, left = 220, 30, 40
    pts = [(label, value) for label, value in points if value is not None]
    step = (WIDTH - left - 20) / max(len(pts) - 1, 1)
    coords = [
        (left + i * step, 20 + (height - bottom - 20) * (1 - value / 100)) for i, (_, value) in enumerate(pts)
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" stroke="#999"/>',
        '<text x="0" y="24" font-size="11">100%</text>',
        f'<text x="0" y="{height - bottom}" font-size="11">0%</text>',
    ]
    if not coords:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" font-size="14">No attendance marked yet</text>'
        )
    else:
        parts.append(
            '<polyline fill="none" stroke="#1f5f8b" stroke-width="3" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            + '"/>'
        )
    for (label, value), (x, y) in zip(pts, coords, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1f5f8b"><title>{escape(label)}: {value:g}%</title></circle>'
            f'<text x="{x - 10:.1f}" y="{height - bottom + 16}" font-size="10">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label is escaped above
