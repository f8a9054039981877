"""Sweeps: grid validation, the tidy table, resume, failures, and real Dask clusters on loopback."""

import csv
import json
import os
import signal
import threading
import time

import pytest

import quotientlearn as ql
from quotientlearn.cli import main
from quotientlearn.sweeps import Grid, load_results

# The issue's grid file, verbatim.
ISSUE_GRID = """
experiment = "demo"                # any registered experiment
[fixed]
fast = true
[grid]
temperature = [0.05, 0.1, 0.2, 0.4]
seed = [0, 1, 2, 3]
"""

# The same form on the bias-strength experiment, small enough for CI (about 0.3 s a cell on an idle core).
SMALL = {"experiment": "bias-strength",
         "fixed": {"fast": True, "n_particles": 400, "time": 1.0},
         "grid": {"temperature": [0.05, 0.1, 0.2, 0.4], "seed": [0, 1, 2, 3]}}

# What a cell computes; wall time and worker say how and where, and differ between runs.
RUN_COLUMNS = ("wall_time", "cpu_time", "worker")


def results(rows):
    return [{key: value for key, value in row.items() if key not in RUN_COLUMNS} for row in rows]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """The 16-cell grid run serially in this process: the reference every Dask run must equal."""
    return ql.sweep(SMALL, out=tmp_path_factory.mktemp("serial"), serial=True, progress=False)


# ------------------------------------------------------------------------------------- grids
def test_issue_grid_file_form(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(ISSUE_GRID)
    grid = Grid.from_file(path)
    assert len(grid) == 16 and grid.parameters == ["temperature", "seed"]
    assert grid.cells[0].params == {"fast": True, "temperature": 0.05, "seed": 0}
    assert grid.cells[1].params["seed"] == 1  # the last axis varies fastest
    assert len({cell.id for cell in grid.cells}) == 16


def test_zipped_groups_vary_together():
    grid = Grid.from_dict({"experiment": "bias-strength", "grid": {"temperature": [0.1, 0.2]},
                           "zip": [{"noise": ["isotropic", "horizontal", "isotropic"],
                                    "gauge_fixing": [True, False, False]}]})
    assert len(grid) == 6
    assert grid.parameters == ["temperature", "noise", "gauge_fixing"]
    pairs = {(cell.params["noise"], cell.params["gauge_fixing"]) for cell in grid.cells}
    assert pairs == {("isotropic", True), ("horizontal", False), ("isotropic", False)}


def test_cell_ids_depend_on_settings_not_on_order():
    one = Grid.from_dict({"experiment": "demo", "grid": {"temperature": [0.1, 0.2], "seed": [0, 1]}})
    other = Grid.from_dict({"experiment": "demo", "grid": {"seed": [1, 0], "temperature": [0.2, 0.1]}})
    assert {c.id for c in one.cells} == {c.id for c in other.cells}
    # A default written out is the same cell as the default left implicit.
    implicit = Grid.from_dict({"experiment": "demo", "grid": {"seed": [0, 1]}})
    explicit = Grid.from_dict({"experiment": "demo", "fixed": {"temperature": 0.1},
                               "grid": {"seed": [0, 1]}})
    assert [c.id for c in implicit.cells] == [c.id for c in explicit.cells]


@pytest.mark.parametrize(("data", "message"), [
    ({"experiment": "demo", "grid": {"nope": [1, 2]}}, "has no setting 'nope'"),
    ({"experiment": "demo", "grid": {"temperature": [0.1, "hot"]}}, "must be a number"),
    ({"experiment": "demo", "fixed": {"fast": "yes"}}, "fast must be true or false"),
    ({"experiment": "no-such"}, "available:"),
    ({"fixed": {}}, "name the experiment"),
    ({"experiment": "demo", "grids": {}}, "unknown key(s) 'grids'"),
    ({"experiment": "demo", "grid": {"seed": 3}}, "non-empty list"),
    ({"experiment": "demo", "grid": {"seed": []}}, "non-empty list"),
    ({"experiment": "demo", "grid": {"seed": [0, 0]}}, "have the same settings"),
    ({"experiment": "demo", "grid": {"temperature": [0.1, 0.2]}, "zip": [{"seed": [1, 1]}]},
     "have the same settings"),
    ({"experiment": "demo", "fixed": {"seed": 0}, "grid": {"seed": [1, 2]}}, "given in [fixed] and in"),
    ({"experiment": "demo", "zip": [{"seed": [0, 1], "temperature": [0.1]}]}, "lists of one length"),
    ({"experiment": "demo", "zip": {"seed": [0, 1]}}, "list of tables"),
])
def test_bad_grids_are_one_clear_error(data, message):
    with pytest.raises(ValueError) as info:
        Grid.from_dict(data, source="g.toml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("data", "message"), [
    ({"experiment": "demo", "grid": {"dt": [0.01, 0]}}, "dt must be a number > 0; got 0"),
    ({"experiment": "demo", "grid": {"seed": [1.5, 2]}}, "seed must be an integer; got 1.5"),
    ({"experiment": "hyperbola", "fixed": {"orbits": 5}}, "orbits must be a list"),
    ({"experiment": "demo", "grid": {"low": [0.5, 2.0]}}, "low must be < high"),
    ({"experiment": "matrix-completion", "grid": {"mask_sampling": ["exact", "poisson"]}},
     "mask_sampling must be one of 'exact', 'bernoulli'"),
    ({"experiment": "tv-recovery", "grid": {"instance": ["random", "papr"]}}, "instance must be one of"),
    ({"experiment": "attention-balance", "grid": {"initial_step": [0, -1]}}, "initial_step must be"),
])
def test_grid_cells_follow_the_settings_schema(data, message):
    with pytest.raises(ql.experiments.SettingError, match=message) as info:
        Grid.from_dict(data, source="g.toml")
    assert str(info.value).startswith("g.toml: cell {")


def test_cells_run_the_coerced_settings():
    grid = Grid.from_dict({"experiment": "demo", "grid": {"seed": [1.0, 2], "dt": [1]}})
    assert [cell.overrides for cell in grid.cells] == [{"seed": 1, "dt": 1.0}, {"seed": 2, "dt": 1.0}]
    assert type(grid.cells[0].overrides["seed"]) is int


def test_a_sweep_claims_its_folder(tmp_path):
    from quotientlearn.io import FolderError, claim_folder

    small = {**SMALL, "grid": {"seed": [0]}}
    with claim_folder(tmp_path / "busy"), pytest.raises(FolderError, match="in use by another"):
        ql.sweep(small, out=tmp_path / "busy", serial=True, progress=False)
    assert not (tmp_path / "busy" / "results.csv").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError, match="existing file"):
        ql.sweep(small, out=tmp_path / "file", serial=True, progress=False)
    with pytest.raises(FolderError, match="lies under a file"):
        ql.sweep(small, out=tmp_path / "file" / "out", serial=True, progress=False)


def test_bad_file_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Grid.from_file(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("experiment = \n")
    with pytest.raises(ValueError, match="not a valid TOML"):
        Grid.from_file(tmp_path / "bad.toml")


def test_invalid_grid_submits_nothing(tmp_path):
    bad = {**SMALL, "grid": {**SMALL["grid"], "temperature": [0.1, "hot"]}}
    with pytest.raises(ValueError, match="cell .*temperature = 'hot'"):
        ql.sweep(bad, out=tmp_path / "out", serial=True, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"workers": 0}, "positive integer"),
    ({"workers": 2, "serial": True}, "does not apply"),
    ({"serial": True, "scheduler": "tcp://127.0.0.1:1"}, "uses no scheduler"),
])
def test_bad_sweep_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ql.sweep(SMALL, out=tmp_path, progress=False, **kwargs)


# ------------------------------------------------------------------------------ serial sweeps
def test_table_rows_match_cells_and_files(serial):
    rows = serial.rows
    assert len(rows) == 16 and serial.n_run == 16 and not serial.failed
    grid = Grid.from_dict(SMALL)
    assert [row["cell"] for row in rows] == [cell.id for cell in grid.cells]
    for row, cell in zip(rows, grid.cells, strict=True):
        assert {key: row[key] for key in cell.params} == cell.params
        assert row["status"] == "ok" and row["error"] is None and row["worker"] == "local"
        assert row["wall_time"] > 0 and row["cpu_time"] > 0
        report = json.loads((serial.out / "cells" / row["cell"] / "report.json").read_text())
        assert row["exponent"] == report["exponent"]  # the report's scalars, exactly
        assert report["config"]["temperature"] == row["temperature"]
        assert "a = " in (serial.out / "cells" / row["cell"] / "log.txt").read_text()
    assert load_results(serial.out) == rows
    with open(serial.out / "results.csv", newline="") as stream:
        table = list(csv.DictReader(stream))
    assert [r["cell"] for r in table] == [r["cell"] for r in rows]
    assert [float(r["exponent"]) for r in table] == [r["exponent"] for r in rows]
    assert set(serial.figures) == {"temperature"}  # seed is the replicate axis: bands, no figure
    assert serial.figures["temperature"].stat().st_size > 0


def test_report_paths_point_into_the_cell_folder(tmp_path):
    # The demo reports its figure's path: in the table it is relative to the output folder, the same
    # wherever and on whichever worker the cell ran.
    grid = {"experiment": "demo", "fixed": {"fast": True, "n_particles": 300, "time": 0.5}}
    row, = ql.sweep(grid, out=tmp_path, serial=True, progress=False).rows
    assert row["figure"] == f"cells/{row['cell']}/demo.png"
    assert (tmp_path / row["figure"]).stat().st_size > 0
    assert isinstance(row["bias_exponent.isotropic"], float)  # nested tables become dotted columns


def test_summary_figure_panels(serial):
    figure = ql.sweeps.plot_summary(serial.rows, "temperature")
    labels = [ax.get_ylabel() for ax in figure.axes if ax.get_visible()]
    assert labels[0] == "exponent" and labels[-2:] == ["wall_time", "cpu_time"]
    assert "theorem1_exponent" not in labels  # 1 in every cell (up to rounding): no panel
    assert ql.sweeps.plot_summary([], "temperature") is None


def test_seed_changes_the_numbers(serial):
    # Cells differ through their settings: same temperature, other seed, other samples.
    by = {(row["temperature"], row["seed"]): row["exponent"] for row in serial.rows}
    assert by[0.1, 0] != by[0.1, 1]


def test_failed_cell_is_recorded_and_resume_retries_only_it(tmp_path, capsys):
    grid = {"experiment": "bias-strength", "fixed": {"fast": True, "time": 1.0},
            # 10 particles leave fewer than the 20 a fit needs: that cell fails while running.
            "grid": {"n_particles": [400, 10], "seed": [0]}}
    first = ql.sweep(grid, out=tmp_path, serial=True)
    assert "sweep bias-strength" in capsys.readouterr().err  # the progress bar
    ok, bad = first.rows
    assert ok["status"] == "ok" and bad["status"] == "failed"
    assert bad["error"].startswith("ValueError: only") and "exponent" not in bad
    assert "Traceback" in (tmp_path / "cells" / bad["cell"] / "log.txt").read_text()
    assert "failed cell" in first.summary()
    with pytest.raises(ValueError, match="already holds the results of 2 cell"):
        ql.sweep(grid, out=tmp_path, serial=True, progress=False)
    again = ql.sweep(grid, out=tmp_path, serial=True, progress=False, resume=True)
    assert (again.n_run, again.n_skipped) == (1, 1)
    assert again.rows[0] == ok  # the completed cell was not recomputed


def test_cli_sweep(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text('experiment = "bias-strength"\n[fixed]\nfast = true\nn_particles = 400\ntime = 1.0\n'
                    "[grid]\nseed = [0, 1]\n")
    assert main(["sweep", str(path), "--serial", "--out", str(tmp_path / "out")]) == 0
    assert "2 cells (2 run, 0 skipped), 0 failed" in capsys.readouterr().out
    assert main(["sweep", str(path), "--serial", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and err.count("\n") == 1
    assert main(["sweep", str(path), "--serial", "--resume", "--out", str(tmp_path / "out")]) == 0
    assert "(0 run, 2 skipped)" in capsys.readouterr().out
    path.write_text('experiment = "bias-strength"\n[grid]\nnope = [1]\n')
    assert main(["sweep", str(path), "--serial", "--out", str(tmp_path / "bad")]) == 2
    assert "has no setting 'nope'" in capsys.readouterr().err
    assert main(["sweep", str(path), "--workers", "0", "--out", str(tmp_path / "bad")]) == 2


# ------------------------------------------------------------------------------ Dask clusters
def test_local_cluster_on_loopback_equals_serial(serial, tmp_path):
    pytest.importorskip("distributed")
    result = ql.sweep(SMALL, out=tmp_path, workers=2, progress=False)
    workers = {row["worker"] for row in result.rows}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert results(result.rows) == results(serial.rows)


def test_worker_killed_mid_sweep_loses_no_cell(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    killed = {}

    def kill_a_busy_worker(client, pids):
        # Wait for the sweep to be under way, then SIGKILL a worker that is running a cell.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = len(list(out.glob("cells/*/record.json")))
            busy = [address for address, keys in client.processing().items() if keys]
            if done >= 2 and busy:
                killed.update(address=busy[0], done=done)
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.05)

    with ql.sweeps.local_cluster(2) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killer = threading.Thread(target=kill_a_busy_worker, args=(client, pids))
        killer.start()
        result = ql.sweep(SMALL, out=out, scheduler=client, progress=False)
        killer.join()
    assert killed, "no worker was killed"
    assert killed["done"] < 16  # the kill came mid-sweep
    assert len(result.rows) == 16 and not result.failed
    assert results(result.rows) == results(serial.rows)
    # The killed worker's unfinished cell ran again elsewhere (the nanny restarts a new worker).
    assert len({row["worker"] for row in result.rows}) >= 2


WARM_WORKER = """
import os, sys
import distributed
import quotientlearn as ql

def state():
    return {"preloaded": "quotientlearn.experiments.hyperbola" in sys.modules,
            "parent": os.getppid(), "trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "threads": os.environ.get("OMP_NUM_THREADS")}

with ql.sweeps.local_cluster(1, preload=["quotientlearn.experiments.hyperbola"]) as cluster, \\
        distributed.Client(cluster) as client:
    (worker,) = client.run(state).values()
print(worker["preloaded"], worker["parent"] != os.getpid(), worker["trim"], worker["threads"])
"""


def test_local_workers_are_forked_from_a_server_that_imported_the_experiment():
    """The first local cluster of a fresh process (forkserver state is per process: a subprocess)."""
    pytest.importorskip("distributed")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WARM_WORKER], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    preloaded, forked, trim, threads = done.stdout.split()
    assert preloaded == "True"  # imported before any cell ran
    assert forked == "True"  # a child of the server, not of this process (as with spawn)
    assert trim == "None" and threads == "1"  # no heap trimming; one BLAS thread per worker
