"""Travel-time GeoTIFFs written while the rest of a command-line run goes on (see
:class:`EarlyRasters`); :func:`~coverage_app.core.outputs.export.export_coverage` takes them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from coverage_app.core.atomic import FolderBusy, folder_lock, fsync_file, hold_folder
from coverage_app.core.outputs.background import Background
from coverage_app.core.outputs.export import check_output_folder, write_tier_rasters
from coverage_app.core.profile import Stages, stage
from coverage_app.core.results import TIERS, AnalysisResult


class EarlyRasters:
    """A run's travel-time GeoTIFFs written while the rest of the run goes on: a tier's rasters are
    final when its search ends, so :meth:`tier_done` (``run_analysis(on_tier=...)``) starts writing
    them on a thread (GDAL releases the GIL) beside the other tier's search, the catchment shapes
    and the tables. The files go into a folder beside the export folder on the same file system
    (``.NAME.rasters-PID-*``); :func:`export_coverage` (``early=``) moves them into its staging
    folder, so the export stays all-or-nothing. Use as a context manager: leaving it waits for the
    writes and removes the folder with whatever the export did not take (a failed or cancelled
    run leaves nothing; a killed one leaves a folder the next export of that folder removes)."""

    def __init__(self, out_dir, mode: str, stages=None):
        self._made_out = not Path(out_dir).expanduser().exists()  # removed again if the run writes nothing
        self.out = check_output_folder(out_dir)
        self.mode = mode
        self._stages = stages
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.rasters-{os.getpid()}-", dir=self.out.parent))
        self._owner = hold_folder(self.folder)  # locked while this run lives: clean_stale leaves the folder
        self._bg = Background(None, workers=len(TIERS))
        self._jobs: dict = {}  # tier -> (TierResult, grid, Future of (its files, its Stages or None))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bg.__exit__(*exc)
        self._owner.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._made_out:  # a run that failed before its export leaves no empty output folder
            with contextlib.suppress(OSError, FolderBusy), folder_lock(self.out):  # not while another exports
                self.out.rmdir()
        return False

    def tier_done(self, tier: str, tier_result, grid) -> None:
        """Start writing ``tier``'s two GeoTIFFs (``tier_result`` on ``grid``), each fsynced once closed."""
        def write():  # its seconds go to ``stages`` when the export takes the files (in the export's place)
            own = None if self._stages is None else Stages()
            with stage(own, "export: travel-time rasters (early, background)", overlapped=True):
                files = write_tier_rasters(tier, tier_result, grid, self.mode, self.folder, own, overlapped=True)
                for path in files:
                    fsync_file(path)
            return files, own

        self._jobs[tier] = (tier_result, grid, self._bg.submit("early rasters", write))

    def tiers_for(self, result: AnalysisResult) -> list[str]:
        """The tiers whose files were written from ``result``'s own arrays (any other is written anew)."""
        return [tier for tier, (t, grid, _) in self._jobs.items()
                if result.tiers.get(tier) is t and grid == result.grid and result.params.mode == self.mode]

    def move_into(self, tiers, staging: Path) -> list[str]:
        """Wait for ``tiers``' writes (an error in one is raised here) and move their files into
        ``staging``; returns the names moved (they are fsynced)."""
        names = []
        for tier in tiers:
            files, own = self._jobs[tier][2].result()
            for path in files:
                os.replace(path, staging / path.name)
                names.append(path.name)
            for name, seconds in (own.seconds.items() if own is not None else ()):
                self._stages.add(name, seconds, overlapped=True)
        return names
