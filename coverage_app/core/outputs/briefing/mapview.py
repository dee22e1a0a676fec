"""The map frame: extent around the region or a township, the map itself (townships, bands,
zones, roads and water, villages, facilities, labels), scale bar, north arrow and the inset
locator of Myanmar.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.patches import Rectangle

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing.drawing import (add_lines, add_polygons, clip_to, count_symbol, rgba,
                                                        scatter, stroke_halo)
from coverage_app.core.outputs.briefing.layers import as_bool
from coverage_app.core.outputs.briefing.page import Placer
from coverage_app.core.outputs.briefing.style import (BACKGROUND_STATES, INK, MAP_BACKGROUND, MUTED,
                                                      OUTSIDE_TOWNSHIPS, bilingual, place_name, tr)


def _north_arrow(page, ax, x_mm, y_mm, size_mm):
    """North arrow with its tip at (x_mm, y_mm) from the map axes' lower-left corner."""
    bb = ax.get_position()
    w_mm, h_mm = bb.width * page.w, bb.height * page.h
    ox, oy = x_mm / w_mm, y_mm / h_mm
    sx, sy = size_mm / w_mm, size_mm / h_mm
    left = MplPolygon([(ox, oy), (ox - 0.35 * sx, oy - sx * 0 - sy), (ox, oy - 0.72 * sy)], closed=True,
                      transform=ax.transAxes, facecolor=INK, edgecolor=INK, linewidth=0.5, zorder=20)
    right = MplPolygon([(ox, oy), (ox + 0.35 * sx, oy - sy), (ox, oy - 0.72 * sy)], closed=True,
                       transform=ax.transAxes, facecolor="white", edgecolor=INK, linewidth=0.5, zorder=20)
    ax.add_patch(left)
    ax.add_patch(right)
    ax.text(ox, oy + 0.08 * sy, "N", transform=ax.transAxes, ha="center", va="bottom",
            fontproperties=page.font(8, "bold"), color=INK, zorder=20, path_effects=stroke_halo(2))


def draw_inset(page, x, y, w, h, layers, focus_geom_4326, language="en"):
    """The locator inset (EPSG:4326, box in mm): Myanmar's states, the region, the focus."""
    ax = page.axes(x, y, w, h)
    ax.set_facecolor("#f7fbff")
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color("#888888")
    ax.set_xticks([])
    ax.set_yticks([])
    if layers.states_4326 is not None and len(layers.states_4326):
        states = layers.states_4326
        bounds = states.total_bounds
        add_polygons(ax, shapely.simplify(states.geometry.values, 0.02), face=BACKGROUND_STATES, edge="#ffffff",
                      lw=0.3, zorder=1)
    else:
        bounds = shapely.bounds(layers.region_4326)
    add_polygons(ax, [layers.region_4326], face="#c9c9c9", edge="#555555", lw=0.4, zorder=2)
    if focus_geom_4326 is not None:
        add_polygons(ax, [focus_geom_4326], face="#d7191c", edge="#d7191c", lw=0.6, alpha=0.85, zorder=3)
        fx0, fy0, fx1, fy1 = shapely.bounds(focus_geom_4326)
        pad = 0.25
        ax.add_patch(Rectangle((fx0 - pad, fy0 - pad), fx1 - fx0 + 2 * pad, fy1 - fy0 + 2 * pad,
                               facecolor="none", edgecolor="#d7191c", linewidth=0.8, zorder=4))
    else:
        add_polygons(ax, [layers.region_4326], face=None, edge="#d7191c", lw=1.0, zorder=3)
    # Fit the inset's frame to Myanmar with a lon/lat aspect true at its centre latitude.
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    aspect = 1 / math.cos(math.radians(cy))
    half_w, half_h = (maxx - minx) / 2 * 1.06, (maxy - miny) / 2 * 1.04
    box_ratio = (h / w)
    if half_h * aspect / half_w > box_ratio:
        half_w = half_h * aspect / box_ratio
    else:
        half_h = half_w * box_ratio / aspect
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect(aspect, adjustable="box")
    name = (tr("Myanmar", language, "\n") if layers.states_4326 is not None else
            bilingual(layers.region_name_en, layers.region_name_my, language, "\n"))
    ax.text(0.04, 0.97, name,
            transform=ax.transAxes, ha="left", va="top",
            fontproperties=page.font(5.8, "bold"), color=MUTED)
    return ax


def focus_extent(layers, town, ratio_hint=None):
    geom = layers.region if town is None else layers.townships.loc[
        layers.townships["pcode"] == town["pcode"]].geometry.iloc[0]
    x0, y0, x1, y1 = shapely.bounds(geom)
    return geom, (x0, y0, x1, y1)


TOP_LABELS = 24  # townships by population whose names go on the region map before facility symbols block


def township_label_order(towns, figures) -> np.ndarray:
    """Township rows in labelling order: most people first (the analysis' village
    population, else the census), area where neither is known."""
    pop = None
    if figures is not None and "pcode" in figures:
        f = figures.set_index(figures["pcode"].astype(str))
        for col in ("pop", "census_pop"):
            if col in f and f[col].notna().any():
                pop = f[col].reindex(towns["pcode"].astype(str)).fillna(0).to_numpy(dtype=float)
                break
    if pop is None or not np.any(pop > 0):
        return np.argsort(-towns.geometry.area.values, kind="stable")
    return np.lexsort((-towns.geometry.area.values, -pop))


def draw_map(page, layers, box, focus_geom, extent, town, language, placer_obstacles=None):
    mx, my, mw, mh = box
    ax = page.axes(mx, my, mw, mh)
    ax.set_facecolor(MAP_BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
        spine.set_color(INK)
    x0, y0, x1, y1 = extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m_per_mm = max((x1 - x0) * 1.06 / mw, (y1 - y0) * 1.06 / mh)
    half_w, half_h = m_per_mm * mw / 2, m_per_mm * mh / 2
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="box")
    view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    tol = 0.08 * m_per_mm  # 0.08 mm on paper
    k = page.k
    pt_per_m = 72 / 25.4 / m_per_mm  # points of paper per metre of ground

    # context: other states, other townships, the focus area
    if layers.states_4326 is not None:
        vb = gpd.GeoSeries(shapely.box(*view).buffer(m_per_mm * 20).envelope, crs=layers.crs).to_crs(4326)
        near = layers.states_4326[layers.states_4326.intersects(vb.iloc[0])]
        if len(near):
            states = near.to_crs(layers.crs).geometry.values
            add_polygons(ax, clip_to(states, view, tol), face=BACKGROUND_STATES, edge="#ffffff", lw=0.8, zorder=0.5)
    towns = layers.townships
    if town is not None:
        others = towns[towns["pcode"] != town["pcode"]]
        add_polygons(ax, clip_to(others.geometry.values, view, tol), face=OUTSIDE_TOWNSHIPS, edge=None, zorder=0.6)
    add_polygons(ax, clip_to([focus_geom], view, tol), face="#ffffff", edge=None, zorder=0.7)

    # catchment bands (primary), widest first
    for lo, hi, geom in sorted(layers.bands, key=lambda b: -b[1]):
        add_polygons(ax, clip_to([geom], view, tol), face=sym.band_colour(hi), alpha=0.45, zorder=1.0)
    if layers.secondary_reach is not None:
        add_lines(ax, [shapely.boundary(g) for g in clip_to([layers.secondary_reach], view, tol)],
                   colour="#5e3c99", lw=1.0 * k, dash=(3, 1.5), zorder=3.4)

    # water, rivers, roads
    water_style = sym.ROLE_STYLES["rivers"]
    add_polygons(ax, clip_to(layers.water.values, view, tol), face=water_style.fill, edge=water_style.stroke,
                  lw=0.3, zorder=1.5)
    add_lines(ax, clip_to(layers.river_lines.values, view, tol), colour=water_style.stroke,
               lw=water_style.stroke_width * k, zorder=1.6)
    if layers.roads is not None:
        for cls in ("path", "track", "tertiary", "secondary", "main"):
            sub = layers.roads[layers.roads["road_class"] == cls]
            if len(sub):
                add_lines(ax, clip_to(sub.geometry.values, view, tol), colour=sym.ROAD_CLASS_COLOURS[cls],
                           lw=sym.ROAD_CLASS_WIDTHS[cls] * 0.8 * k, zorder=2.0)

    # conflict zones valid on the date
    if layers.zones is not None and len(layers.zones):
        keys = np.array(sym.zone_style_keys(layers.zones["kind"]))
        for kind in sym.ZONE_DRAW_ORDER:
            st, sub = sym.zone_style(kind), layers.zones[keys == kind]
            if sub.empty:
                continue
            add_polygons(ax, clip_to(sub.geometry.values, view, tol), face=st.fill, edge=None, alpha=st.alpha,
                          zorder=2.5)
            add_polygons(ax, clip_to(sub.geometry.values, view, tol), face=None, edge=st.stroke,
                          lw=st.stroke_width, hatch=st.hatch, zorder=2.6)

    # boundaries
    ts = sym.ROLE_STYLES["townships"]
    add_polygons(ax, clip_to(towns.geometry.values, view, tol), face=None, edge=ts.stroke,
                  lw=ts.stroke_width * (0.8 if town is None else 0.6), zorder=3.0)
    if town is not None:
        add_polygons(ax, clip_to([focus_geom], view, tol), face=None, edge=INK, lw=1.6 * k, zorder=3.2)
    rs = sym.ROLE_STYLES["region"]
    add_polygons(ax, clip_to([layers.region], view, tol), face=None, edge=rs.stroke, lw=rs.stroke_width * k,
                  zorder=3.1)

    # villages by gap class (uncovered last, on top)
    placer_points = []
    v = layers.villages
    if v is not None and len(v):
        vx, vy = v.geometry.x.values, v.geometry.y.values
        inview = (vx >= view[0]) & (vx <= view[2]) & (vy >= view[1]) & (vy <= view[3])
        shrink = 0.6 if town is None else 1.1
        order = ("none", "secondary", "primary", "both", "unreachable") if layers.has_result else ("village",)
        styles = dict(sym.GAP_STYLES)
        if layers.sweep is not None:  # probability of access: the least likely villages on top
            classes = sym.access_probability_classes()
            order = tuple(f"p{i}" for i in reversed(range(len(classes))))
            styles = {f"p{i}": c[2] for i, c in enumerate(classes)}
        for z, klass in enumerate(order):
            st = styles.get(klass) or sym.ROLE_STYLES["villages"]
            sel = inview & (v["klass"].values == klass)
            if not sel.any():
                continue
            scatter(ax, vx[sel], vy[sel], st, st.size * shrink * k, 4 + z * 0.1)

    # facilities
    fac_xy = None
    if layers.safe_share and layers.facility_counts is not None:
        fc = layers.facility_counts
        fx, fy = fc.geometry.x.values, fc.geometry.y.values
        for xx, yy, n in zip(fx, fy, fc["n_facilities"].values):
            if view[0] <= xx <= view[2] and view[1] <= yy <= view[3]:
                count_symbol(ax, xx, yy, int(n), page, zorder=8)
        fac_xy = (fx, fy)
    elif layers.facilities is not None and len(layers.facilities):
        f = layers.facilities
        fx, fy = f.geometry.x.values, f.geometry.y.values
        inview = (fx >= view[0]) & (fx <= view[2]) & (fy >= view[1]) & (fy <= view[3])
        status = f["status"].astype(str).values if "status" in f else np.array(["unknown"] * len(f))
        sec = f["secondary"].values.astype(bool)
        new = as_bool(f["is_new"]).values if "is_new" in f else np.zeros(len(f), bool)
        for is_new, is_sec in ((False, False), (False, True), (True, False), (True, True)):
            for st_name in sym.FACILITY_STATUS_COLOURS:
                sel = inview & (sec == is_sec) & (status == st_name) & (new == is_new)
                if not sel.any():
                    continue
                st = sym.facility_style(st_name, is_sec, new=is_new)
                ax.scatter(fx[sel], fy[sel], s=(st.size * k * (0.85 if town is None else 1.0)) ** 2,
                           marker=st.marker, c=[rgba(st.fill)], edgecolors=[rgba(st.stroke)],
                           linewidths=st.stroke_width, zorder=7 + (0.2 if is_sec else 0))
        fac_xy = (fx[inview], fy[inview])

    if town is not None:
        # dim everything outside the township so it stands out (labels and furniture stay sharp)
        outside = shapely.difference(shapely.box(*view).buffer(m_per_mm), shapely.simplify(focus_geom, tol))
        add_polygons(ax, [outside], face="#ffffff", alpha=0.55, zorder=7.6)
        add_polygons(ax, clip_to([focus_geom], view, tol), face=None, edge=INK, lw=1.6 * k, zorder=7.7)

    # furniture first, so labels avoid it
    bb = ax.get_window_extent(page.renderer)
    obstacles = []
    arrow_size = 9.0 * k
    _north_arrow(page, ax, mw - 6.0 * k, mh - 6.0 * k, arrow_size)
    mm = 72 / 25.4
    obstacles.append((bb.x1 - 12 * k * mm, bb.y1 - 20 * k * mm, bb.x1, bb.y1))
    from matplotlib_scalebar.scalebar import ScaleBar

    bar = ScaleBar(1, "m", location="lower left", length_fraction=0.28, width_fraction=0.006,
                   box_alpha=0.85, box_color="white", color=INK, scale_loc="top", pad=0.4, border_pad=0.6,
                   sep=2, font_properties={"family": page.family, "size": 6.2 * k})
    bar.set_zorder(20)
    ax.add_artist(bar)
    obstacles.append((bb.x0, bb.y0, bb.x0 + bb.width * 0.34, bb.y0 + 12 * k * mm))

    # labels: townships (region) or the focus name, facilities, uncovered villages
    placer = Placer(ax, obstacles)
    ring = [(0, 0), (0, 9), (0, -9), (14, 0, "left"), (-14, 0, "right")]
    # farther spots, joined to the township by a leader line (squeezed townships such as
    # Myinmu and Chaung-U between Monywa and Sagaing); points, nearest first
    far = [(dx * r, dy * r, "left" if dx > 0.3 else ("right" if dx < -0.3 else "center"))
           for r in (18, 26, 36, 48) for dx, dy in ((1, 0), (-1, 0), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7),
                                                    (-0.7, -0.7), (0, 1), (0, -1))]

    def block_facilities():
        if fac_xy is not None:
            placer.block(*fac_xy, radius_pt=(4.5 if not layers.safe_share else 5.5) * k)

    if town is None:
        reps = towns.geometry.representative_point()
        order = township_label_order(towns, layers.figures)
        for n, i in enumerate(order):
            if n == TOP_LABELS:  # the most populous townships are named even over facility symbols
                block_facilities()
            r = towns.iloc[i]
            label = place_name(r, language)
            for size in (6.2, 5.3):  # small townships get smaller type before they lose their name
                if placer.place(page, reps.iloc[i].x, reps.iloc[i].y, label, size, "bold", colour="#333333",
                                offsets=ring, halo=2.0 if size > 6 else 1.6):
                    break
            else:
                placer.place(page, reps.iloc[i].x, reps.iloc[i].y, label, 5.3, "bold", colour="#333333",
                             offsets=far, halo=1.6, leader=True)
        if len(order) <= TOP_LABELS:
            block_facilities()
    else:
        block_facilities()
        # neighbours in grey, the focus township needs no label (it is the title)
        reps = towns.geometry.representative_point()
        for i in range(len(towns)):
            r = towns.iloc[i]
            if r["pcode"] == town["pcode"]:
                continue
            px, py = reps.iloc[i].x, reps.iloc[i].y
            if not (view[0] <= px <= view[2] and view[1] <= py <= view[3]):
                # a neighbour whose centre is off the page: label it where it meets the frame
                clipped = shapely.clip_by_rect(r.geometry, *view)
                if clipped.is_empty or clipped.area < (m_per_mm * 15) ** 2:
                    continue
                rp = clipped.representative_point()
                px, py = rp.x, rp.y
            placer.place(page, px, py, place_name(r, language), 6.4, "bold", colour="#8a8a8a", offsets=ring,
                         halo=1.8)
        if not layers.safe_share and layers.facilities is not None:
            f = layers.facilities
            fx, fy = f.geometry.x.values, f.geometry.y.values
            inside = (fx >= view[0]) & (fx <= view[2]) & (fy >= view[1]) & (fy <= view[3])
            order = np.argsort(~f["secondary"].values.astype(bool))
            for i in order:
                if not inside[i]:
                    continue
                name = str(f["name"].iloc[i]) if "name" in f else ""
                if not name or name == "nan":
                    continue
                own = str(f["township_pcode"].iloc[i]) == town["pcode"] if "township_pcode" in f else True
                placer.place(page, fx[i], fy[i], name, 5.6, "bold", colour="#0b3d1a" if own else "#7a8a7e",
                             offsets=[(7 * k, 0, "left"), (-7 * k, 0, "right"), (0, 8 * k), (0, -8 * k)],
                             halo=1.8)
        if v is not None and len(v):
            # village labels keep clear of the emphasised (uncovered) villages
            vx, vy = v.geometry.x.values, v.geometry.y.values
            keep = v["klass"].isin(["both", "primary", "unreachable"]).values & \
                (vx >= view[0]) & (vx <= view[2]) & (vy >= view[1]) & (vy <= view[3])
            placer.block(vx[keep], vy[keep], radius_pt=1.6 * k)
        if v is not None and layers.has_result:
            sel = v[(v["township_pcode"].astype(str) == town["pcode"]) & v["klass"].isin(["both", "primary"])]
            sel = sel.sort_values("population", ascending=False).head(60)
            for r in sel.itertuples():
                label = place_name({"name_en": r.name_en, "name_my": r.name_my}, language)
                if not label:
                    continue
                placer.place(page, r.geometry.x, r.geometry.y, label, 5.0, colour="#40004b",
                             offsets=[(4 * k, 0, "left"), (-4 * k, 0, "right"), (0, 6 * k), (0, -6 * k)],
                             halo=1.5, pad=0.6)
    return ax, m_per_mm
