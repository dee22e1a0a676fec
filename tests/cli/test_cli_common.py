"""cli/common.run_command: every way a command can end becomes an exit code and plain lines."""

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from coverage_app.cli.common import load_project_arg, run_command
from coverage_app.core.data.project import ProjectError
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import Cancelled

ARGS = SimpleNamespace()


def raising(exc):
    def cmd(args):
        print("started")
        raise exc
    return cmd


def test_success_returns_the_command_code(capsys):
    assert run_command(lambda args: None, ARGS) == 0
    assert run_command(lambda args: 2, ARGS) == 2


def test_input_error_prints_each_problem_and_exits_2(capsys):
    err = InputError([Problem("error", "has no geometry", file="v.gpkg", layer="villages", rows=(3, 7)),
                      Problem("error", "no field 'pcode'", file="t.shp", field="pcode")])
    assert run_command(raising(err), ARGS) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert "v.gpkg" in lines[0] and "villages" in lines[0] and "has no geometry" in lines[0]
    assert "t.shp" in lines[1] and "pcode" in lines[1]


def test_project_error_exits_2(capsys):
    assert run_command(raising(ProjectError("p.covproj: not a project file")), ARGS) == 2
    assert capsys.readouterr().err.strip() == "error: p.covproj: not a project file"


@pytest.mark.parametrize("exc, said", [(Cancelled(), "cancelled"), (KeyboardInterrupt(), "interrupted")])
def test_cancel_and_ctrl_c_exit_130(capsys, exc, said):
    assert run_command(raising(exc), ARGS) == 130
    assert capsys.readouterr().err.strip() == said


def test_unexpected_failure_is_one_line_without_traceback(capsys, monkeypatch):
    monkeypatch.delenv("COVERAGE_APP_DEBUG", raising=False)
    assert run_command(raising(ZeroDivisionError("division by zero")), ARGS) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("error: unexpected failure: ZeroDivisionError: division by zero "
                           "(run with COVERAGE_APP_DEBUG=1 for details)")
    assert "Traceback" not in err


def test_debug_lets_the_unexpected_failure_through(monkeypatch):
    monkeypatch.setenv("COVERAGE_APP_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run_command(raising(ZeroDivisionError("x")), ARGS)


def test_project_argument_defaults_to_the_bundled_project(bundled_project_path, tmp_path):
    assert load_project_arg(None).path.resolve() == bundled_project_path.resolve()
    with pytest.raises(ProjectError):
        load_project_arg(str(tmp_path / "missing.covproj"))


def test_closed_stdout_pipe_is_not_a_crash():
    """`coverage-app info | head -1`: the reader closes the pipe before the command prints."""
    proc = subprocess.Popen([sys.executable, "-m", "coverage_app", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ.copy())
    proc.stdout.close()  # nobody will read: every write is EPIPE
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == 141, err
    assert "unexpected failure" not in err and "Traceback" not in err and "Exception ignored" not in err
