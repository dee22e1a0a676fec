"""Issue 14 item 3: the first what-if from the baseline is an incremental update of the baseline's
result (no full run), and equals a full run; result tables still fit their columns."""

from __future__ import annotations

import numpy as np

from coverage_app.ui import jobs

from .conftest import run_analysis, wait_idle


def test_first_edit_from_the_baseline_updates_its_result_instead_of_running_twice(window, qtbot, monkeypatch):
    baseline = run_analysis(qtbot, window)
    calls = []
    for name in ("run_analysis", "update_result"):
        real = getattr(jobs, name)
        monkeypatch.setattr(jobs, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    view = window.results.village_view
    widths = [view.columnWidth(c) for c in range(view.horizontalHeader().count())]
    fitted = []
    monkeypatch.setattr(view, "fit_columns", lambda: fitted.append(1))
    fac = baseline.facilities
    fac_id = str(fac.loc[fac["counts_primary"] & fac["on_grid"], "fac_id"].iloc[0])
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.scenarios.push_edit({"type": "set_status", "fac_id": fac_id, "status": "closed", "date": "2024-01-01"})
    wait_idle(qtbot, window)
    assert calls == ["update_result"]
    # the village table keeps the widths fitted to the first result (same columns): no refit
    assert not fitted and [view.columnWidth(c) for c in range(view.horizontalHeader().count())] == widths
    scenario = window.project.scenario(window.project.active_scenario)
    assert window.result.scenario["edits"] == scenario["edits"]
    from coverage_app.core.analysis.pipeline import run_analysis as full_run

    full = full_run(window.data, window.project.params, scenario)
    np.testing.assert_array_equal(window.result.tiers["primary"].minutes, full.tiers["primary"].minutes)
    assert window.result.headline() == full.headline()
    # the travel-time layers were recoloured in the edit's window only: as a layer drawn afresh
    from coverage_app.ui.layer_symbols import travel_time_colours
    from coverage_app.ui.maplayers import RasterLayer

    for tier in ("primary", "secondary"):
        layer = window.session.result_layers[f"tt_{tier}"]
        assert layer.values is window.result.tiers[tier].minutes
        fresh = RasterLayer("tt", "travel_time", layer.values, layer.transform, colour=travel_time_colours,
                            style=dict(layer.style))
        shown, drawn = layer.image(), fresh.image()
        np.testing.assert_array_equal(np.frombuffer(shown.bits(), np.uint32), np.frombuffer(drawn.bits(), np.uint32))
        assert layer.count() == fresh.count()
    assert window.result.tiers["primary"].edited is not None
    assert window.result.headline()["pop_no_primary"] >= baseline.headline()["pop_no_primary"]
    # back to the baseline: its own result, untouched by the scenario's update
    window.scenarios.activate_scenario(None)
    wait_idle(qtbot, window)
    assert window.result is baseline and (baseline.tiers["primary"].allocation == fac.index.get_loc(
        fac.index[fac["fac_id"] == fac_id][0])).any()


def test_village_table_columns_fit_their_contents(window, qtbot):
    run_analysis(qtbot, window)
    view = window.results.village_view
    header = view.horizontalHeader()
    widths = [view.columnWidth(c) for c in range(header.count()) if not view.isColumnHidden(c)]
    assert widths and min(widths) >= 48
    # the name column is wide enough for the names on show
    fm = view.fontMetrics()
    model = view.model()
    names = [str(model.data(model.index(r, 0))) for r in range(min(20, model.rowCount()))]
    assert view.columnWidth(0) >= min(view.name_width_cap(), max(fm.horizontalAdvance(n) for n in names))


def _classify_reference(values, breaks, argb, alpha):
    """The pixel-by-pixel classification as it was (premultiplying every pixel)."""
    from coverage_app.ui.render import premultiply

    idx = np.clip(np.searchsorted(breaks[1:], values, side="left"), 0, len(argb) - 1)
    out = argb[idx]
    if alpha < 1.0:
        out = premultiply(out, alpha)
    return np.where(np.isnan(values), np.uint32(0), out).astype(np.uint32)


def test_travel_time_colours_from_a_premultiplied_table_match_pixel_by_pixel():
    from coverage_app.core.outputs import symbology as sym
    from coverage_app.ui import render

    breaks, argb = render.colour_lut(sym.TRAVEL_TIME_BREAKS, sym.TRAVEL_TIME_COLOURS, sym.BEYOND_COLOUR)
    rng = np.random.default_rng(1)
    values = rng.uniform(-5, 900, (257, 311)).astype("float32")
    values[rng.random(values.shape) < 0.1] = np.nan
    values[0, :len(breaks)] = breaks  # exactly on each break: the class below it
    for alpha in (1.0, 0.85, 0.3):
        got = render.classify_to_argb(values, breaks, argb, alpha)
        assert got.dtype == np.uint32 and got.shape == values.shape
        np.testing.assert_array_equal(got, _classify_reference(values, breaks, argb, alpha))
        np.testing.assert_array_equal(render.classify_to_argb(values.astype("float64"), breaks, argb, alpha), got)


def test_a_raster_layer_updated_in_place_draws_what_a_new_layer_draws(qapp):
    from rasterio.transform import from_origin

    from coverage_app.ui.layer_symbols import travel_time_colours
    from coverage_app.ui.maplayers import RasterLayer, changed_window

    rng = np.random.default_rng(2)
    a = rng.uniform(0, 300, (180, 240)).astype("float32")
    a[:20] = np.nan
    b = a.copy()
    b[50:70, 100:130] += 45.0  # a closed facility: its cells get further
    b[60, 120] = np.nan  # one cell cut off
    t = from_origin(0, 0, 250, 250)

    def pixels(layer):
        img = layer.image()
        return np.frombuffer(img.bits(), np.uint32).reshape(img.height(), img.width()).copy()

    layer = RasterLayer("tt", "travel_time", a, t, colour=travel_time_colours, style={"opacity": 0.85})
    pixels(layer)
    version = layer.version
    assert changed_window(a, b) == ((50, 70), (100, 130)) and changed_window(a, a.copy()) is None
    layer.set_values(b, t)
    assert layer.version > version and layer.values is b
    fresh = RasterLayer("tt", "travel_time", b, t, colour=travel_time_colours, style={"opacity": 0.85})
    np.testing.assert_array_equal(pixels(layer), pixels(fresh))
    version = layer.version
    layer.set_values(b, t)  # the same array (an unchanged tier): nothing to do
    assert layer.version == version
    layer.set_values(b[:100], t)  # another grid: drawn afresh
    assert pixels(layer).shape == (100, 240)


def test_a_raster_layer_updated_from_an_edits_window_draws_and_counts_what_a_new_layer_does(qapp):
    """With the edit's window (TierResult.edited) the layer recolours and recounts only that
    window, without comparing the two grids; a window for another parent is not used."""
    import weakref

    from rasterio.transform import from_origin

    from coverage_app.ui import maplayers
    from coverage_app.ui.layer_symbols import travel_time_colours
    from coverage_app.ui.maplayers import RasterLayer

    rng = np.random.default_rng(3)
    a = rng.uniform(0, 300, (180, 240)).astype("float32")
    a[:20] = np.nan
    b = a.copy()
    b[50:70, 100:130] += 45.0
    b[60:62, 110:125] = np.nan  # cells cut off: fewer cells with a value
    t = from_origin(0, 0, 250, 250)

    def pixels(layer):
        img = layer.image()
        return np.frombuffer(img.bits(), np.uint32).reshape(img.height(), img.width()).copy()

    compared = []
    real = maplayers.changed_window
    maplayers.changed_window = lambda *args: compared.append(1) or real(*args)
    try:
        layer = RasterLayer("tt", "travel_time", a, t, colour=travel_time_colours, style={"opacity": 0.85})
        pixels(layer)
        assert layer.count() == int(np.isfinite(a).sum())
        layer.set_values(b, t, edited=(weakref.ref(a), ((48, 71), (99, 131))))
        assert not compared
        fresh = RasterLayer("tt", "travel_time", b, t, colour=travel_time_colours, style={"opacity": 0.85})
        np.testing.assert_array_equal(pixels(layer), pixels(fresh))
        assert layer.count() == fresh.count() == int(np.isfinite(b).sum()) < int(np.isfinite(a).sum())
        c = b.copy()
        c[150:160, 10:20] = 5.0
        layer.set_values(c, t, edited=(weakref.ref(a), ((0, 0), (0, 0))))  # not the parent on show
        assert compared
        np.testing.assert_array_equal(pixels(layer), pixels(RasterLayer("tt", "travel_time", c, t,
                                                                           colour=travel_time_colours,
                                                                           style={"opacity": 0.85})))
        assert layer.count() == int(np.isfinite(c).sum())
    finally:
        maplayers.changed_window = real


def test_a_vector_layer_reprojects_only_the_geometries_new_to_it(qapp, monkeypatch):
    """A what-if result's villages and untouched catchments are the same geometry objects as
    its parent's: set_frame keeps their projected copies and projects only the new ones; the
    layer's geometries equal those of a layer built afresh."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from pyproj import CRS

    from coverage_app.ui.maplayers import VectorLayer

    rng = np.random.default_rng(4)
    points = shapely.points(rng.uniform(94, 96, 300), rng.uniform(21, 24, 300))
    polygons = [shapely.box(94 + i * 0.01, 22, 94.005 + i * 0.01, 22.005).buffer(0.001) for i in range(40)]
    a = gpd.GeoDataFrame({"k": range(340)}, geometry=list(points) + polygons, crs=4326)
    map_crs = CRS.from_epsg(32646)
    layer = VectorLayer("v", "villages", a, map_crs)
    b = a.copy()  # a deep copy shares the geometry objects
    b.loc[5, "geometry"] = shapely.Point(95.5, 22.5)
    b = gpd.GeoDataFrame(pd.concat([b.iloc[10:], b.iloc[:10]]), geometry="geometry", crs=4326)  # another order
    projected = []
    real = gpd.GeoSeries.to_crs
    monkeypatch.setattr(gpd.GeoSeries, "to_crs", lambda self, *x, **k: projected.append(len(self)) or real(self, *x, **k))
    layer.set_frame(b)
    assert projected == [1]  # only the new point
    monkeypatch.setattr(gpd.GeoSeries, "to_crs", real)
    fresh = VectorLayer("v", "villages", b, map_crs)
    assert all(shapely.equals_exact(layer.geoms, fresh.geoms, tolerance=0.0))
    assert layer.extent() == fresh.extent()


def _status_of(window, fac_id):
    frame = window.stack.by_title("Health facilities").frame
    return str(frame.loc[frame["fac_id"].astype(str) == fac_id, "status"].iloc[0])


def _a_counted_facility(result):
    fac = result.facilities
    return str(fac.loc[fac["counts_primary"] & fac["on_grid"], "fac_id"].iloc[0])


def test_a_quick_update_draws_the_edit_with_its_result_in_one_repaint(window, qtbot):
    """The facility redraw of a what-if waits for the update's result (no repaint while the update
    runs: it took the GIL from it), and the edit and the result are drawn in the same repaint."""
    baseline = run_analysis(qtbot, window)
    fac_id = _a_counted_facility(baseline)
    window.scenarios._facilities_later.setInterval(600_000)  # the update always comes first here
    window.canvas.repaint()  # the baseline's own repaint now, not inside the edit
    renders = []
    window.canvas.rendered.connect(lambda _ms: renders.append(window.result))
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.scenarios.push_edit({"type": "set_status", "fac_id": fac_id, "status": "closed", "date": "2024-01-01"})
        assert _status_of(window, fac_id) != "closed"  # not redrawn yet: the update runs
    assert _status_of(window, fac_id) == "closed"  # drawn with the result
    assert not window.scenarios._facilities_later.isActive()
    qtbot.waitUntil(lambda: bool(renders) and renders[-1] is window.result, timeout=10000)
    wait_idle(qtbot, window)
    assert renders == [window.result]  # one repaint, after the result: not one before it


def test_a_slow_or_failed_update_still_draws_the_edit(window, qtbot, monkeypatch):
    """An update slower than the wait (FACILITY_REDRAW_WAIT_MS) or one that fails: the edit is drawn
    without its result (nothing the user did is lost from the map)."""
    import threading

    baseline = run_analysis(qtbot, window)
    fac_id = _a_counted_facility(baseline)
    release = threading.Event()
    real = jobs.update_result

    def slow(*a, **k):
        release.wait(30)
        return real(*a, **k)

    monkeypatch.setattr(jobs, "update_result", slow)
    window.scenarios._facilities_later.setInterval(50)
    window.scenarios.push_edit({"type": "set_status", "fac_id": fac_id, "status": "closed", "date": "2024-01-01"})
    qtbot.waitUntil(lambda: _status_of(window, fac_id) == "closed", timeout=10000)  # before the result
    assert window.result is baseline
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        release.set()
    assert _status_of(window, fac_id) == "closed" and window.result is not baseline
    wait_idle(qtbot, window)

    def fail(*a, **k):
        raise RuntimeError("update failed")

    monkeypatch.setattr(jobs, "update_result", fail)
    monkeypatch.setattr("coverage_app.ui.dialogs.show_error", lambda *a, **k: None)
    other = str(baseline.facilities.loc[baseline.facilities["counts_primary"] & baseline.facilities["on_grid"]
                                        & (baseline.facilities["fac_id"].astype(str) != fac_id), "fac_id"].iloc[0])
    window.scenarios.push_edit({"type": "set_status", "fac_id": other, "status": "destroyed", "date": "2024-01-01"})
    qtbot.waitUntil(lambda: _status_of(window, other) == "destroyed", timeout=10000)
    wait_idle(qtbot, window)
