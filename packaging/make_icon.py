"""Draw the app icon: a map pin with a health cross over travel-time contours.

    python packaging/make_icon.py        # writes packaging/icon.svg and packaging/icon.png (256 px)

Only matplotlib is needed. The contours are three wobbly isochrone rings around the pin's tip
(the 30 / 60 / 120 minute bands of the app's catchments), on a rounded square.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch, PathPatch, Polygon
from matplotlib.path import Path as MPath

HERE = Path(__file__).resolve().parent

BACKGROUND = "#f3efe4"  # paper
EDGE = "#d9d2c0"
BANDS = ["#cfe3d4", "#9fcbb0", "#5fa784"]  # 120, 60, 30 min (outer to inner)
CONTOUR = "#3d7d62"
PIN = "#c8453b"
PIN_EDGE = "#8f2a23"


def isochrone(cx, cy, radius, phase, wobble=0.09, n=240):
    """A closed, smoothly irregular ring around (cx, cy)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * (1 + wobble * np.sin(2 * t + phase) + 0.6 * wobble * np.sin(3 * t - 1.7 * phase)
                  + 0.4 * wobble * np.cos(5 * t + 0.5))
    return np.column_stack([cx + r * np.cos(t), cy + 0.82 * r * np.sin(t)])


def pin_path(x, tip_y, head_r):
    """A classic map pin: a circle head tapering to a point at (x, tip_y)."""
    cy = tip_y + 2.45 * head_r  # centre of the head
    # The head: a circular arc open at the bottom, where the sides run down to the tip.
    theta = np.linspace(-np.pi / 2 + np.deg2rad(52), 3 * np.pi / 2 - np.deg2rad(52), 120)
    head = np.column_stack([x + head_r * np.cos(theta), cy + head_r * np.sin(theta)])
    # Sides: quadratic curves from the tip to the ends of the arc.
    def side(p0, p1, ctrl, n=30):
        s = np.linspace(0, 1, n)[:, None]
        return (1 - s) ** 2 * p0 + 2 * (1 - s) * s * ctrl + s ** 2 * p1

    tip = np.array([x, tip_y])
    right_end, left_end = head[0], head[-1]
    right = side(tip, right_end, np.array([x + 0.55 * head_r, tip_y + 1.05 * head_r]))
    left = side(left_end, tip, np.array([x - 0.55 * head_r, tip_y + 1.05 * head_r]))
    outline = np.vstack([right, head[1:], left[1:]])
    return MPath(np.vstack([outline, outline[:1]]), closed=True), (x, cy)


def draw(size_px=256):
    fig = Figure(figsize=(1, 1), dpi=size_px)
    fig.patch.set_alpha(0)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.set_aspect("equal")

    card = FancyBboxPatch((0.04, 0.04), 0.92, 0.92, boxstyle="round,pad=0,rounding_size=0.19",
                          facecolor=BACKGROUND, edgecolor=EDGE, linewidth=1.2)
    ax.add_patch(card)

    cx, cy = 0.5, 0.30  # the pin's tip sits at the centre of the catchment
    for colour, radius, phase in zip(BANDS, (0.43, 0.30, 0.17), (0.4, 1.3, 2.1)):
        ring = Polygon(isochrone(cx, cy, radius, phase), closed=True, facecolor=colour,
                       edgecolor=CONTOUR, linewidth=1.1, alpha=0.95, clip_path=card)
        ax.add_patch(ring)
        ring.set_clip_path(card)

    path, (hx, hy) = pin_path(cx, cy, head_r=0.17)
    ax.add_patch(PathPatch(path, facecolor=PIN, edgecolor=PIN_EDGE, linewidth=1.4, joinstyle="round"))
    ax.add_patch(Circle((hx, hy), 0.108, facecolor="white", edgecolor="none"))
    arm, half = 0.026, 0.072  # health cross
    ax.add_patch(Polygon([(hx - arm, hy - half), (hx + arm, hy - half), (hx + arm, hy - arm),
                          (hx + half, hy - arm), (hx + half, hy + arm), (hx + arm, hy + arm),
                          (hx + arm, hy + half), (hx - arm, hy + half), (hx - arm, hy + arm),
                          (hx - half, hy + arm), (hx - half, hy - arm), (hx - arm, hy - arm)],
                         closed=True, facecolor=PIN, edgecolor="none"))
    return fig


def main() -> None:
    fig = draw(256)
    fig.savefig(HERE / "icon.png", dpi=256, transparent=True)
    fig.savefig(HERE / "icon.svg", transparent=True, metadata={"Date": None, "Creator": "packaging/make_icon.py"})
    print(f"wrote {HERE / 'icon.png'} and {HERE / 'icon.svg'}")


if __name__ == "__main__":
    main()
