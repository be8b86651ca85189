"""The app dependency graph as an inline SVG, drawn on the server.

Apps sit in layers by `depends_on` depth: an app with no dependencies is in
layer 0, any other one layer below its deepest dependency, so every arrow
points down, in the order the agent syncs. Boxes are coloured by health
through CSS classes (``health-healthy`` ...) so the page's light and dark
themes both apply; each box links to its app's page.

    >>> svg = dependency_svg({"db": [], "web": ["db"]}, {"db": "healthy"})
    >>> "db" in svg and "web" in svg
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

__all__ = ["dependency_svg", "layers"]

BOX_W, BOX_H = 148, 38
GAP_X, GAP_Y = 20, 44
PAD = 10


def layers(depends_on: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Apps grouped by dependency depth, names sorted within a layer.

    A dependency that is not itself an app gets a layer too (its box is shown
    as missing); a cycle, which the system map refuses, is cut, not looped on.
    """
    depth: dict[str, int] = {}

    def depth_of(name: str, seen: frozenset[str]) -> int:
        if name in depth:
            return depth[name]
        deps = [d for d in depends_on.get(name, ()) if d not in seen]
        found = 1 + max((depth_of(d, seen | {name}) for d in deps), default=-1)
        depth[name] = found
        return found

    names = set(depends_on) | {d for deps in depends_on.values() for d in deps}
    for name in sorted(names):
        depth_of(name, frozenset())
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in sorted(names):
        out[depth[name]].append(name)
    return out


def dependency_svg(depends_on: Mapping[str, Sequence[str]], health: Mapping[str, str], *,
                   current: str | None = None,
                   link: Callable[[str], str] | None = None) -> str:
    """SVG markup (already escaped) of the apps and their dependency arrows.

    `health` maps an app to its health word; `current` is outlined; `link`
    gives each known app's URL.
    """
    rows = layers(depends_on)
    if not rows:
        return ""
    widest = max(len(row) for row in rows)
    width = PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X
    height = PAD * 2 + len(rows) * BOX_H + (len(rows) - 1) * GAP_Y
    where: dict[str, tuple[float, float]] = {}
    for level, row in enumerate(rows):
        row_width = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (width - row_width) / 2
        for i, name in enumerate(row):
            where[name] = (left + i * (BOX_W + GAP_X), PAD + level * (BOX_H + GAP_Y))

    names = ", ".join(f"{n} ({health.get(n, 'unknown')})" for row in rows for n in row)
    parts = [f'<svg class="depgraph" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
             f'role="group" aria-label="{escape("App dependencies: " + names)}">',
             '<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" '
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>']
    for name in sorted(depends_on):
        for dep in depends_on[name]:
            if dep not in where:
                continue
            (dx, dy), (nx, ny) = where[dep], where[name]
            parts.append(f'<line class="edge" x1="{dx + BOX_W / 2:g}" y1="{dy + BOX_H:g}" '
                         f'x2="{nx + BOX_W / 2:g}" y2="{ny - 2:g}" '
                         f'marker-end="url(#arrowhead)"><title>{escape(dep)} before '
                         f'{escape(name)}</title></line>')
    for name, (x, y) in where.items():
        known = name in depends_on
        state = health.get(name, "unknown") if known else "missing"
        classes = f"node health-{escape(state)}" + (" current" if name == current else "")
        label = name if len(name) <= 18 else name[:17] + "…"
        box = (f'<g class="{classes}"><title>{escape(name)}: {escape(state)}</title>'
               f'<rect x="{x:g}" y="{y:g}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
               f'<text x="{x + BOX_W / 2:g}" y="{y + 16:g}" text-anchor="middle">'
               f'{escape(label)}</text>'
               f'<text class="sub" x="{x + BOX_W / 2:g}" y="{y + 31:g}" '
               f'text-anchor="middle">{escape(state)}</text></g>')
        if link is not None and known:
            box = f'<a href="{escape(link(name))}" aria-label="{escape(name)}">{box}</a>'
        parts.append(box)
    parts.append("</svg>")
    return "".join(parts)
