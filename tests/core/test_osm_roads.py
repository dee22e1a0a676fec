"""Roads from OpenStreetMap: an .osm file read through GDAL's OSM driver, highway -> road class."""

import json

import numpy as np
import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.layers import load_layer
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import LayerRef, load_project, save_project
from coverage_app.core.data.roles import OSM_HIGHWAY_CLASSES
from coverage_app.core.params import AnalysisParams
from tests.synthetic import TO_LONLAT, X0, Y0, facility, make_project, village

WAYS = {  # way id -> (highway tag or None, other tags, (x0, x1) metres east of the centre along y = 0)
    1: ("trunk", {}, (0, 4000)),
    2: ("secondary", {}, (4000, 8000)),
    3: ("unclassified", {}, (8000, 12000)),
    4: ("track", {}, (12000, 16000)),
    5: ("footway", {}, (16000, 18000)),
    6: ("construction", {}, (0, 1000)),
    7: (None, {"waterway": "stream"}, (-3000, -1000)),
}


def write_osm(path, ways=WAYS):
    nodes, xml_ways, nid = [], [], 1
    for wid, (highway, tags, (xa, xb)) in ways.items():
        refs = []
        for x in np.linspace(xa, xb, 5):
            lon, lat = TO_LONLAT.transform(X0 + x, Y0 + 0.3 * wid)  # a hair apart so they do not share nodes
            nodes.append(f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
            refs.append(f'<nd ref="{nid}"/>')
            nid += 1
        all_tags = ({"highway": highway} if highway else {}) | tags | {"name": f"way {wid}"}
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in all_tags.items())
        xml_ways.append(f'<way id="{wid}" version="1">{"".join(refs)}{tag_xml}</way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
                    + "\n".join(nodes + xml_ways) + "\n</osm>\n", encoding="utf-8")
    return path


def test_osm_file_is_read_through_gdal_and_highway_mapped_to_classes(tmp_path):
    layer = load_layer(write_osm(tmp_path / "roads.osm"))  # role guessed from the highway field
    got = dict(zip(layer.data["name"], layer.data["road_class"]))
    assert got == {"way 1": "main", "way 2": "secondary", "way 3": "tertiary", "way 4": "track", "way 5": "path"}
    assert layer.road_classes == OSM_HIGHWAY_CLASSES
    left_out = [p for p in layer.problems if "left out" in p.message]
    assert len(left_out) == 1 and "construction (1)" in left_out[0].message  # the stream has no highway value


def test_edited_mapping_is_saved_in_the_project_and_used(tmp_path):
    osm = write_osm(tmp_path / "roads.osm")
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 16000, 0)])
    project.layers.append(LayerRef("OSM roads", str(osm), "roads", mapping={"road_class": "highway"}))
    data = load_project_data(project)
    ref = project.layers[-1]
    assert ref.options["road_classes"]["track"] == "track"  # the default table, now in the project
    ref.options["road_classes"] = dict(ref.options["road_classes"], track="secondary", construction="track")
    saved = save_project(project, tmp_path / "p.covproj")
    assert json.loads(saved.read_text())["layers"][-1]["options"]["road_classes"]["track"] == "secondary"
    data = load_project_data(load_project(saved))
    roads = data.role("roads")
    assert dict(zip(roads["name"], roads["road_class"]))["way 4"] == "secondary"
    assert "way 6" in set(roads["name"])  # construction is now a track


@pytest.mark.parametrize("mode", ["car", "motorbike"])
def test_osm_roads_carry_motor_traffic_at_their_class_speed(tmp_path, mode):
    osm = write_osm(tmp_path / "roads.osm")
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 15000, 0)])
    project.layers.append(LayerRef("OSM roads", str(osm), "roads"))
    params = AnalysisParams(cell_size_m=100.0, mode=mode)
    result = run_analysis(load_project_data(project), params)
    table = params.speeds_kmh[mode]
    # hand calculation along the chain trunk 4 km, secondary 4 km, unclassified 4 km, track 3 km
    expect = 60 * (4 / table["main"] + 4 / table["secondary"] + 4 / table["tertiary"] + 3 / table["track"])
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(expect, rel=0.06)


def test_hot_export_geopackage_with_highway_field_is_mapped(tmp_path):
    import geopandas as gpd
    import shapely

    from tests.synthetic import line

    gdf = gpd.GeoDataFrame({"osm_id": [1, 2, 3], "highway": ["primary", "residential", "path"]},
                           geometry=[line([(0, 0), (1000, 0)]), line([(0, 500), (1000, 500)]),
                                     shapely.LineString()], crs=4326)
    gdf.to_file(tmp_path / "hotosm_mmr_roads_lines.gpkg", driver="GPKG")
    layer = load_layer(tmp_path / "hotosm_mmr_roads_lines.gpkg", "roads")
    assert list(layer.data["road_class"]) == ["main", "tertiary"]  # the empty line is dropped
