"""Polygons of the regions of a label raster (cells of one label joined across their edges, as
GDAL's ``GDALPolygonize`` with 4-connectivity), traced by a numba kernel that releases the GIL.

``rasterio.features.shapes`` holds the GIL for the whole of GDAL's polygonising and then builds a
GeoJSON dict, tuple by tuple, for every vertex: at 250 m on Sagaing, 0.07-0.09 s a tier during
which the other tier's search threads wait. Here the rings are traced without the GIL (the other
tier's search goes on beside it) into flat vertex arrays, and shapely builds the polygons from
them in bulk. The result is the same set of polygons (tested against ``features.shapes``).

How: every side of a labelled cell whose neighbour across it has another label (or lies outside
the window) is a boundary edge, directed so that its cell is on its right. Rings follow the edges
from vertex to vertex. Where two edges of the label leave a vertex (two cells of the label touch
only at that corner) the ring keeps to its own cell if the two cells are in different regions
(they are separate polygons touching at a point: 4-connectivity), and passes through the corner
if they are one region (a hole touching the outer ring at a point, as GEOS wants it, not a ring
touching itself). Only corners are kept (no vertex in a straight run). A ring
is an outer ring when it runs clockwise on the grid (rows down), a hole otherwise; each ring
belongs to the 4-connected component of the cells along it, and a component has one outer ring.
"""

from __future__ import annotations

import numpy as np
import shapely

from coverage_app.core.travel.jit import jit_kernel

# direction of travel along side s of a cell (0 top: east, 1 right: south, 2 bottom: west, 3 left: north)
_DR = np.array([0, 1, 0, -1], dtype=np.int64)
_DC = np.array([1, 0, -1, 0], dtype=np.int64)


@jit_kernel(inline=True)  # inlined into the loops below: as a call it cost ~15 ns a cell
def _is_edge(label, r, c, s, value):
    """Whether side ``s`` of cell (r, c) is a boundary edge of ``value``'s regions."""
    rows, cols = label.shape
    if r < 0 or c < 0 or r >= rows or c >= cols or label[r, c] != value:
        return False
    if s == 0:
        return r == 0 or label[r - 1, c] != value
    if s == 1:
        return c == cols - 1 or label[r, c + 1] != value
    if s == 2:
        return r == rows - 1 or label[r + 1, c] != value
    return c == 0 or label[r, c - 1] != value


@jit_kernel(inline=True)
def _root(parent, x):
    """The root of ``x``'s set (path halving); a root is its own parent."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@jit_kernel
def _components(label, comp, parent):
    """4-connected components of the cells of equal non-zero label: ``comp`` (-1 where the label
    is 0) gets 0, 1, ... in row-major order of their first cell; returns how many. ``parent``:
    room for one integer per cell.

    Union-find over runs (cells of one label side by side along a row): each run is numbered in
    row-major order and joined with the runs of the same label above it, a set keeping its
    smallest run (the run of its first cell) as root; the roots are then numbered in order."""
    rows, cols = label.shape
    runs = 0
    for r in range(rows):
        c = 0
        while c < cols:
            value = label[r, c]
            if value == 0:
                comp[r, c] = -1
                c += 1
                continue
            run = runs
            parent[run] = run
            runs += 1
            above = -1
            while c < cols and label[r, c] == value:
                comp[r, c] = run
                if r > 0 and label[r - 1, c] == value and comp[r - 1, c] != above:
                    above = comp[r - 1, c]
                    a = _root(parent, above)
                    b = _root(parent, run)
                    if a < b:
                        parent[b] = a
                    elif b < a:
                        parent[a] = b
                c += 1
    # number the roots in order; every run then takes its root's number, stored as -(number + 1)
    n = 0
    for i in range(runs):
        x = i
        while parent[x] >= 0 and parent[x] != x:
            x = parent[x]
        if parent[x] >= 0:  # an unnumbered root: the run itself (smaller roots are numbered already)
            parent[x] = -(n + 1)
            n += 1
        parent[i] = parent[x]
    for r in range(rows):
        for c in range(cols):
            k = comp[r, c]
            if k >= 0:
                comp[r, c] = -parent[k] - 1
    return n


@jit_kernel
def _count_edges(label):
    """How many boundary edges ``label``'s regions have (sizes the arrays of :func:`_trace_rings`)."""
    rows, cols = label.shape
    n_edges = 0
    for r in range(rows):
        for c in range(cols):
            if label[r, c] != 0:
                for s in range(4):
                    if _is_edge(label, r, c, s, label[r, c]):
                        n_edges += 1
    return n_edges


@jit_kernel
def _trace_rings(label, comp, dr, dc, vr, vc, start, ring_comp, ring_label, outer, used):
    """Every boundary ring of ``label``'s regions, into the arrays given (sized, and ``used``
    zeroed, by :func:`_rings_of`): vertex rows and cols (grid corners), offset of each ring's first
    vertex (one more: the end), each ring's component, label and whether it is an outer ring.
    Rings are closed (last vertex = first). Returns how many vertices and rings it wrote."""
    rows, cols = label.shape
    nv = 0
    nr = 0
    for r0 in range(rows):
        for c0 in range(cols):
            value = label[r0, c0]
            if value == 0 or (0 < r0 < rows - 1 and 0 < c0 < cols - 1 and label[r0 - 1, c0] == value
                              and label[r0 + 1, c0] == value and label[r0, c0 - 1] == value
                              and label[r0, c0 + 1] == value):
                continue  # (most cells: inside a region, no edge)
            for s0 in range(4):
                if used[r0, c0] & (1 << s0) or not _is_edge(label, r0, c0, s0, value):
                    continue
                first = nv
                r, c, s = r0, c0, s0
                prev = -1
                while True:
                    used[r, c] |= np.uint8(1 << s)
                    if s != prev:  # a corner: where this edge starts
                        vr[nv] = r + (1 if s >= 2 else 0)
                        vc[nv] = c + (1 if s == 1 or s == 2 else 0)
                        nv += 1
                    prev = s
                    right = (s + 1) & 3
                    left = (s + 3) & 3
                    rd, cd = r + dr[s] + dr[left], c + dc[s] + dc[left]  # the cell diagonally ahead
                    if _is_edge(label, r, c, right, value) and not (
                            _is_edge(label, rd, cd, left, value) and comp[rd, cd] == comp[r, c]):
                        s = right
                    elif _is_edge(label, r, c, right, value):  # a corner of one region: through it
                        r, c, s = rd, cd, left
                    elif _is_edge(label, r + dr[s], c + dc[s], s, value):
                        r, c = r + dr[s], c + dc[s]
                    else:
                        r, c, s = rd, cd, left
                    if r == r0 and c == c0 and s == s0:
                        break
                if prev == s0:  # the ring's first vertex lies inside a straight run: drop it
                    for i in range(first, nv - 1):
                        vr[i] = vr[i + 1]
                        vc[i] = vc[i + 1]
                    nv -= 1
                vr[nv] = vr[first]
                vc[nv] = vc[first]
                nv += 1
                area2 = 0
                for i in range(first, nv - 1):
                    area2 += vc[i] * vr[i + 1] - vc[i + 1] * vr[i]
                start[nr] = first
                ring_comp[nr] = comp[r0, c0]
                ring_label[nr] = value
                outer[nr] = area2 > 0  # clockwise with rows down
                nr += 1
    start[nr] = nv
    return nv, nr


def _rings_of(label, comp):
    """:func:`_trace_rings` with its arrays made here (numpy, outside the kernels: numba's array
    allocation would bring its array module, ~0.03 s to import, into every run's kernel loading)."""
    n_edges = _count_edges(label)
    max_rings = n_edges // 4 + 1
    vr, vc = np.empty(2 * n_edges + 1, np.int64), np.empty(2 * n_edges + 1, np.int64)
    start = np.empty(max_rings + 1, np.int64)
    ring_comp, ring_label = np.empty(max_rings, np.int64), np.empty(max_rings, np.int64)
    outer = np.empty(max_rings, np.bool_)
    nv, nr = _trace_rings(label, comp, _DR, _DC, vr, vc, start, ring_comp, ring_label, outer,
                          np.zeros(label.shape, np.uint8))
    return vr[:nv], vc[:nv], start[:nr + 1], ring_comp[:nr], ring_label[:nr], outer[:nr]


def polygons_of_labels(label: np.ndarray, transform) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, geometries)``: each distinct non-zero value of ``label`` (int32, rows x cols) and
    its cells as one shapely Polygon or MultiPolygon (its 4-connected regions, with their holes) in
    the coordinates of ``transform`` (an affine north-up grid transform). Empty arrays if no cell
    is labelled. The tracing releases the GIL."""
    label = np.ascontiguousarray(label, dtype=np.int32)
    comp = np.empty(label.shape, dtype=np.int32)
    _components(label, comp, np.empty(label.size, np.int32 if label.size < 2 ** 31 else np.int64))
    vr, vc, start, ring_comp, ring_label, outer = _rings_of(label, comp)
    if len(ring_comp) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    x = transform.c + vc * transform.a + vr * transform.b
    y = transform.f + vc * transform.d + vr * transform.e
    counts = np.diff(start)
    rings = shapely.linearrings(np.column_stack([x, y]), indices=np.repeat(np.arange(len(counts)), counts))
    # each component's outer ring first, then its holes
    order = np.lexsort((~outer, ring_comp))
    comps, first_ring = np.unique(ring_comp[order], return_index=True)
    polygon_of_ring = np.repeat(np.arange(len(comps)), np.diff(np.append(first_ring, len(order))))
    polygons = shapely.polygons(rings[order], indices=polygon_of_ring)
    polygon_label = ring_label[order][first_ring]
    labels, codes = np.unique(polygon_label, return_inverse=True)
    by_label = np.argsort(codes, kind="stable")
    merged = shapely.multipolygons(polygons[by_label], indices=codes[by_label])
    single = shapely.get_num_geometries(merged) == 1
    merged[single] = shapely.get_geometry(merged[single], 0)
    return labels, merged
