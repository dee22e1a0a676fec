"""The stage profile (core/profile.py) and what the command paths import (start-up cost)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coverage_app.core.profile import Stages, process_age_s, stage

REPO = Path(__file__).resolve().parents[2]


def test_stages_add_up_in_order_and_overlapped_ones_are_not_summed():
    s = Stages()
    with s.stage("read"):
        time.sleep(0.02)
    s.add("search wall", 1.0)
    s.add("search: primary", 0.9, overlapped=True)
    s.add("read", 0.5)  # a stage recorded twice adds up
    assert list(s.seconds) == ["read", "search wall", "search: primary"]
    assert s.seconds["read"] == pytest.approx(0.52, abs=0.05)
    assert s.total() == pytest.approx(s.seconds["read"] + 1.0)
    d = s.as_dict()
    assert d["overlapped"] == ["search: primary"] and d["sum"] == round(s.total(), 3)
    lines = s.table().splitlines()
    assert lines[0].split()[:2] == ["stage", "s"] and "(over)" in lines[3] and lines[-1].startswith("sum")


def test_stage_helper_records_nothing_without_a_recorder_and_keeps_the_time_of_a_failed_stage():
    with stage(None, "x"):
        pass
    s = Stages()
    with pytest.raises(ZeroDivisionError):
        with stage(s, "fails"):
            1 / 0
    assert "fails" in s.seconds


def test_process_age_and_startup_are_plausible():
    age = process_age_s()
    if sys.platform.startswith("linux"):
        assert age is not None and 0 < age < 24 * 3600
    s = Stages()
    s.record_startup()
    assert s.seconds["imports"] >= 0


def _imported_for_real(code: str) -> list[str]:
    """Heavy optional packages really imported (not a deferred stand-in) after ``code``."""
    probe = (code + "\nimport sys, types\n"
             "heavy = ('boto3', 'matplotlib', 'dask', 'distributed', 'cryptography', 'skimage', 'PySide6')\n"
             "print([m for m in heavy if m in sys.modules and type(sys.modules[m]) is types.ModuleType])\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return eval(out.stdout.strip().splitlines()[-1])


def test_the_analyse_path_imports_no_plotting_gui_cloud_or_crypto_packages():
    code = ("from coverage_app.cli.main import build_parser\nbuild_parser()\n"
            "import coverage_app.core.analysis.pipeline, coverage_app.core.outputs.export\n"
            "import coverage_app.core.data.model, coverage_app.core.travel.engine")
    assert _imported_for_real(code) == []


def test_boto3_stand_in_hands_on_the_real_module_when_used():
    pytest.importorskip("boto3")
    out = subprocess.run([sys.executable, "-c", "import coverage_app, rasterio.session as s, sys, types\n"
                          "assert type(sys.modules['boto3']) is not types.ModuleType\n"
                          "print(s.boto3.Session.__module__, type(sys.modules['boto3']) is types.ModuleType)"],
                         cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["boto3.session", "True"]
