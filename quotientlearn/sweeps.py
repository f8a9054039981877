"""Experiment grids on Dask distributed: :func:`sweep` runs every cell of a grid of settings.

A grid file (TOML) names a registered experiment, the settings every cell shares (``[fixed]``), the axes
of a cartesian product (``[grid]``) and, optionally, groups of settings that vary together
(``[[zip]]``, one axis each)::

    experiment = "bias-strength"
    [fixed]
    fast = true                          # the experiment's quick configuration
    [grid]
    temperature = [0.05, 0.1, 0.2, 0.4]
    seed = [0, 1, 2]
    [[zip]]                              # the i-th values of every key go together
    noise = ["isotropic", "isotropic", "horizontal"]
    gauge_fixing = [true, false, false]

Every cell is one :func:`quotientlearn.experiments.run` call, submitted as a Dask task: to a
``LocalCluster`` on this machine by default, or to a running cluster by address. The whole grid is
validated (by :func:`quotientlearn.experiments.resolve_config`) before anything is submitted. A cell is
named by a hash of its experiment and resolved configuration, and its randomness comes from its
settings (its ``seed`` is one of them), never from which worker ran it or when: a distributed sweep
gives the same numbers as a serial one, and a cell lost with a worker is simply recomputed.

The output folder holds ``results.csv`` and ``results.jsonl`` (one row per cell, in grid order: the
parameters, the report's scalar values, wall time, worker, status and error), ``summary_<param>.png``
(each swept parameter against every numeric result, with bands over seeds), ``sweep.json`` (the grid
and the run) and ``cells/<id>/`` (each cell's report, arrays, figures, captured output and
``record.json``). The workers write nothing: each returns its files to the client, which writes them
atomically, so a cluster needs no shared file system. With ``resume`` the cells whose record is
stored are skipped.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import io
import itertools
import json
import logging
import os
import re
import shutil
import tempfile
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from quotientlearn import experiments
from quotientlearn.io import LOCK_NAME, atomic_write_bytes, claim_folder, to_jsonable, write_json

__all__ = ["Cell", "Grid", "SweepResult", "load_results", "local_cluster", "plot_summary", "run_cell",
           "sweep"]

#: The parameter whose values are replicates: summary figures draw bands over it.
REPLICATE = "seed"
_TOP_LEVEL = ("experiment", "fixed", "grid", "zip")
_REPORT_ECHO = ("experiment", "fast", "config", "seconds")  # the run's own settings, not results
_RECORD_FILE = "record.json"
_HOW = ("status", "error", "wall_time", "cpu_time", "worker")  # how a cell ran, besides its results


@dataclass(frozen=True)
class Cell:
    """One point of a grid: the settings of one experiment run.

    Attributes
    ----------
    id : str
        Hash of the experiment and the resolved configuration (the cell's name on disk and on Dask).
    experiment : str
    params : dict
        The grid file's values for this cell (fixed and swept), ``fast`` included.
    fast : bool
    overrides : dict
        ``params`` without ``fast``, as the settings schema coerced them: what
        :func:`quotientlearn.experiments.run` overrides.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> grid = ql.sweeps.Grid("hyperbola", fixed={"fast": True, "n_steps": 300, "burn_in": 100},
    ...                       grid={"lr": [0.01, 0.02]})
    >>> cell = grid.cells[0]
    >>> cell.experiment, cell.overrides["lr"], len(cell.id)
    ('hyperbola', 0.01, 16)
    """

    id: str
    experiment: str
    params: dict
    fast: bool
    overrides: dict


class Grid:
    """A validated grid of experiment settings.

    Parameters
    ----------
    experiment : str
        A registered experiment (``quotientlearn list``).
    fixed : dict, optional
        Settings shared by every cell; ``fast`` selects the experiment's quick configuration.
    grid : dict of str to list, optional
        One axis per key: the cells are the cartesian product of the axes.
    zipped : list of dict of str to list, optional
        Each a group of keys whose lists have one length and vary together, as one axis.
    source : str
        Where the grid came from, for error messages.

    Raises
    ------
    ValueError
        On a malformed grid, a key given twice, or a cell the experiment refuses: one message naming
        the file and the cell. A value the settings schema refuses (unknown setting, wrong type, out
        of range, inconsistent with another) raises its subclass
        :class:`~quotientlearn.experiments.SettingError`.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> grid = ql.sweeps.Grid("hyperbola", fixed={"fast": True, "n_steps": 300, "burn_in": 100},
    ...                       grid={"lr": [0.01, 0.02]})
    >>> [cell.params["lr"] for cell in grid.cells]
    [0.01, 0.02]
    """

    def __init__(self, experiment, fixed=None, grid=None, zipped=None, source="grid"):
        self.source = str(source)
        if not isinstance(experiment, str):
            raise ValueError(f"{self.source}: experiment must be a name (see `quotientlearn list`); got "
                             f"{experiment!r}")
        experiments.get(experiment)  # an unknown name lists the available ones
        self.experiment = experiment
        self.fixed = dict(self._table(fixed, "[fixed]"))
        self.grid = {key: self._values(values, f"[grid] {key}")
                     for key, values in self._table(grid, "[grid]").items()}
        if zipped is not None and not isinstance(zipped, list | tuple):
            raise ValueError(f"{self.source}: zip must be a list of tables ([[zip]]); got {zipped!r}")
        self.zipped = []
        for number, group in enumerate(zipped or (), start=1):
            where = f"[[zip]] group {number}"
            columns = {key: self._values(values, f"{where} {key}")
                       for key, values in self._table(group, where).items()}
            lengths = {key: len(values) for key, values in columns.items()}
            if not columns or len(set(lengths.values())) != 1:
                raise ValueError(f"{self.source}: {where} needs lists of one length; got {lengths}")
            self.zipped.append(columns)
        seen = {}
        for where, keys in (("[fixed]", self.fixed), ("[grid]", self.grid),
                            *((f"[[zip]] group {n}", g) for n, g in enumerate(self.zipped, 1))):
            for key in keys:
                if key in seen:
                    raise ValueError(f"{self.source}: {key!r} is given in {seen[key]} and in {where}")
                seen[key] = where
        self.parameters = [*self.grid, *(key for group in self.zipped for key in group)]
        self.cells = []
        params_of = {}  # cell id -> the first parameters that gave it
        for params in self._product():
            cell = self._cell(params)
            if cell.id in params_of:
                raise ValueError(f"{self.source}: cells {_format(params_of[cell.id])} and "
                                 f"{_format(params)} have the same settings")
            params_of[cell.id] = params
            self.cells.append(cell)

    @classmethod
    def from_file(cls, path):
        """Read a grid file (TOML)."""
        return cls.from_dict(_read_grid_file(path), source=Path(path))

    @classmethod
    def from_dict(cls, data, source="grid"):
        """Build a grid from the parsed form of a grid file (keys ``experiment``, ``fixed``, ...)."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a grid is a table of {', '.join(_TOP_LEVEL)}; got {data!r}")
        unknown = sorted(set(data) - set(_TOP_LEVEL))
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; a grid has "
                             f"{', '.join(_TOP_LEVEL)}")
        if "experiment" not in data:
            raise ValueError(f'{source}: name the experiment, e.g. experiment = "demo"')
        return cls(data["experiment"], data.get("fixed"), data.get("grid"), data.get("zip"), source)

    def as_dict(self):
        """The grid file's form of this grid."""
        data = {"experiment": self.experiment, "fixed": self.fixed, "grid": self.grid}
        if self.zipped:
            data["zip"] = self.zipped
        return data

    def __len__(self):
        return len(self.cells)

    def __repr__(self):
        return f"Grid({self.experiment!r}, {len(self)} cells, parameters={self.parameters})"

    # ---------------------------------------------------------------------------------- helpers
    def _table(self, value, where):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"{self.source}: {where} must be a table of settings; got {value!r}")
        return value

    def _values(self, values, where):
        if not isinstance(values, list) or not values:
            raise ValueError(f"{self.source}: {where} must be a non-empty list of values (a single "
                             f"value belongs under [fixed]); got {values!r}")
        return list(values)

    def _product(self):
        axes = [[{key: value} for value in values] for key, values in self.grid.items()]
        axes += [[dict(zip(group, row, strict=True)) for row in zip(*group.values(), strict=True)]
                 for group in self.zipped]
        for combination in itertools.product(*axes):
            params = dict(self.fixed)
            for part in combination:
                params.update(part)
            yield params

    def _cell(self, params):
        overrides = {key: value for key, value in params.items() if key != "fast"}
        fast = params.get("fast", False)
        if not isinstance(fast, bool):
            raise ValueError(f"{self.source}: fast must be true or false; got {fast!r}")
        try:
            config = experiments.resolve_config(self.experiment, fast=fast, overrides=overrides)
        except experiments.SettingError as exc:  # kept a SettingError: the schema refused a value
            raise experiments.SettingError(f"{self.source}: cell {_format(params)}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{self.source}: cell {_format(params)}: {exc}") from None
        # The cell runs the values the schema coerced (an integral 2.0 as the integer 2, ...).
        overrides = {key: config[key] for key in overrides}
        identity = json.dumps(to_jsonable({"experiment": self.experiment, "fast": fast, "config": config}),
                              sort_keys=True)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return Cell(digest, self.experiment, params, fast, overrides)


def _read_grid_file(path):
    """The parsed content of a grid file, not yet validated."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"grid file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid TOML file: {exc}") from None


def _format(params):
    return "{" + ", ".join(f"{key} = {value!r}" for key, value in params.items()) + "}"


# ------------------------------------------------------------------------------------ one cell
def run_cell(experiment, fast, overrides, location):
    """Run one cell where it is called (a Dask worker, or this process) and return its outcome.

    The experiment writes into a fresh temporary folder whose files are returned, so the worker needs
    no access to the output folder. Output and warnings are captured into ``log.txt``. An exception
    does not propagate: it is the cell's recorded error.

    Parameters
    ----------
    experiment : str
    fast : bool
    overrides : dict
    location : str
        The cell's folder relative to the sweep's output folder (``cells/<id>``): paths into the
        temporary folder in the report are rewritten to it, so they hold wherever the sweep ran.

    Returns
    -------
    outcome : dict
        ``status`` ("ok" or "failed"), ``error``, ``report``, ``files`` (relative path to bytes),
        ``wall_time`` and ``cpu_time`` (seconds; CPU time of the whole process while the cell ran, so
        ``wall_time / cpu_time`` well above 1 means the cell waited for a core) and ``worker`` (the
        Dask worker's address, or "local").

    Examples
    --------
    >>> import quotientlearn as ql
    >>> outcome = ql.sweeps.run_cell("hyperbola", True, {"n_steps": 300, "burn_in": 100}, "cells/x")
    >>> outcome["status"], outcome["error"]
    ('ok', None)
    """
    log = io.StringIO()
    start, cpu_start = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="quotientlearn-cell-") as tmp:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            try:
                report = experiments.run(experiment, fast=fast, out=tmp, overrides=overrides)
                status, error = "ok", None
            except Exception as exc:  # a failed cell is recorded, and the sweep goes on
                traceback.print_exc(file=log)
                report, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
        wall_time, cpu_time = time.perf_counter() - start, time.process_time() - cpu_start
        # Not the run's lock on the temporary folder: a result of nothing, and one more file to write.
        files = {path.relative_to(tmp).as_posix(): path.read_bytes()
                 for path in sorted(Path(tmp).rglob("*")) if path.is_file() and path.name != LOCK_NAME}
    files["log.txt"] = log.getvalue().encode()
    if report is not None:
        report = _relocate(to_jsonable(report), tmp, location)
        files["report.json"] = (json.dumps(report, indent=2) + "\n").encode()
    return {"status": status, "error": error, "report": report, "files": files,
            "wall_time": wall_time, "cpu_time": cpu_time, "worker": _worker_address()}


def _relocate(value, old, new):
    if isinstance(value, dict):
        return {key: _relocate(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_relocate(item, old, new) for item in value]
    if isinstance(value, str) and value.startswith(old):
        return new + value[len(old):]
    return value


def _worker_address():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not inside a Dask worker
        return "local"


def _scalars(report, prefix=""):
    """The report's scalar values, nested tables flattened to dotted names; lists are left out."""
    values = {}
    for key, value in report.items():
        if not prefix and key in _REPORT_ECHO:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            values.update(_scalars(value, f"{name}."))
        elif value is None or isinstance(value, bool | int | float | str):
            values[name] = value
    return values


# --------------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    """What :func:`sweep` returns.

    Attributes
    ----------
    rows : list of dict
        One per cell, in grid order (as in ``results.jsonl``).
    parameters : list of str
        The swept parameters.
    out : Path
        The output folder.
    figures : dict of str to Path
        Summary figure of each swept parameter that has one.
    n_run, n_skipped : int
        Cells computed now, and cells found complete and skipped (``resume``).
    seconds : float
        Wall time of the sweep.

    Examples
    --------
    >>> import tempfile
    >>> import quotientlearn as ql
    >>> grid = {"experiment": "hyperbola", "fixed": {"fast": True, "n_steps": 300, "burn_in": 100},
    ...         "grid": {"seed": [0]}}  # a grid file's content, parsed
    >>> with tempfile.TemporaryDirectory() as out:
    ...     result = ql.sweep(grid, out=out, serial=True, progress=False)
    >>> len(result.rows), result.n_run, result.failed
    (1, 1, [])
    """

    rows: list
    parameters: list
    out: Path
    figures: dict = field(default_factory=dict)
    n_run: int = 0
    n_skipped: int = 0
    seconds: float = 0.0

    @property
    def failed(self):
        """The rows of the cells that failed."""
        return [row for row in self.rows if row["status"] != "ok"]

    def summary(self):
        """A few lines for the terminal: counts, time, files written and the first failures."""
        lines = [f"{len(self.rows)} cells ({self.n_run} run, {self.n_skipped} skipped), "
                 f"{len(self.failed)} failed, in {self.seconds:.1f} s; wrote {self.out}/results.csv, "
                 f"results.jsonl and {len(self.figures)} summary figure(s)"]
        for row in self.failed[:3]:
            where = ", ".join(f"{key}={row[key]}" for key in self.parameters)
            lines.append(f"  failed cell {row['cell']} ({where}): {row['error']}")
        if len(self.failed) > 3:
            lines.append(f"  ... and {len(self.failed) - 3} more (see the error column)")
        return "\n".join(lines)


def sweep(grid, out=None, scheduler=None, workers=None, resume=False, serial=False, progress=True):
    """Run every cell of a grid as a Dask task and write one tidy results table.

    Parameters
    ----------
    grid : str, Path, dict or Grid
        A grid file (TOML), its parsed form, or a :class:`Grid`.
    out : str or Path, optional
        Output folder; default ``quotientlearn-out/sweep-<experiment>``.
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler (``tcp://host:8786``), or a client to use. Default: a
        ``LocalCluster`` on this machine's loopback interface, closed at the end.
    workers : int, optional
        Worker processes of the local cluster (one thread each); default: the number of cores.
    resume : bool
        Skip the cells whose results are stored in ``out``. Without it, an ``out`` that holds results
        is refused, so nothing is overwritten.
    serial : bool
        Run the cells one after another in this process, without Dask (the reference for timings;
        needs no ``distributed`` extra).
    progress : bool
        Show a progress bar of cells done.

    Returns
    -------
    result : SweepResult

    Raises
    ------
    ValueError
        On an invalid grid (before anything runs), an ``out`` holding results without ``resume``,
        bad ``workers``, or a scheduler that cannot be reached; a
        :class:`~quotientlearn.io.FolderError` when ``out`` is a file, lies under one, is not writable
        or is in use by another sweep or run.
    ImportError
        When Dask distributed is needed and not installed (``pip install 'quotientlearn[distributed]'``).

    Notes
    -----
    A script that starts the local cluster must call this under ``if __name__ == "__main__":``: Dask
    starts worker processes with the ``spawn`` method, which imports the script again.

    Examples
    --------
    >>> import quotientlearn as ql
    >>> grid = ql.sweeps.Grid("hyperbola", fixed={"fast": True, "n_steps": 300, "burn_in": 100},
    ...                       grid={"lr": [0.01, 0.02]})
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     result = ql.sweep(grid, out=out, serial=True, progress=False)  # serial: without Dask
    ...     rows = ql.sweeps.load_results(out)
    >>> len(result.rows), result.failed, rows[0]["lr"]
    (2, [], 0.01)
    """
    source = "grid"
    if isinstance(grid, str | os.PathLike):
        grid, source = _read_grid_file(grid), Path(grid)
    if isinstance(grid, dict) and scheduler is None and not serial:
        # The local workers' forkserver imports the experiment while this process validates the
        # grid (which imports it too): on a fresh process that overlaps the two. An invalid grid
        # leaves the server idle (it exits with this process); nothing is submitted.
        name = grid.get("experiment")
        if isinstance(name, str) and name in experiments.EXPERIMENTS:
            _start_forkserver(_warm_up_modules(name))
    grid = _as_grid(grid, source)
    out = Path(out) if out is not None else Path("quotientlearn-out") / f"sweep-{grid.experiment}"
    cells_dir = out / "cells"
    stored = sorted(cells_dir.glob(f"*/{_RECORD_FILE}")) if cells_dir.is_dir() else []
    if stored and not resume:
        raise ValueError(f"{out} already holds the results of {len(stored)} cell(s); pass --resume "
                         "(resume=True) to skip the completed ones, or choose another --out")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int | np.integer)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    if workers is not None and (serial or scheduler is not None):
        raise ValueError("workers sets the size of the local cluster; it does not apply to a serial "
                         "sweep or to a cluster given by its scheduler")
    if serial and scheduler is not None:
        raise ValueError("a serial sweep uses no scheduler; pass one or the other")

    start = time.perf_counter()
    records = {cell.id: _stored_record(cells_dir / cell.id) for cell in grid.cells} if resume else {}
    records = {cell_id: record for cell_id, record in records.items() if record is not None}
    todo = [cell for cell in grid.cells if cell.id not in records]
    meta = {"experiment": grid.experiment, "grid": grid.as_dict(), "source": grid.source,
            "cells": len(grid), "skipped": len(records), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with contextlib.ExitStack() as stack:
        # Connect first: a missing extra or an unreachable scheduler is refused before any writing.
        client = (_client(scheduler, workers, stack, _warm_up_modules(grid.experiment))
                  if todo and not serial else None)
        # One sweep at a time per folder (a second is refused), stale temporaries of a killed one removed.
        stack.enter_context(claim_folder(out))
        meta["scheduler"] = client.scheduler.address if client is not None else "serial" if serial else None
        write_json(out / "sweep.json", meta)
        bar = stack.enter_context(tqdm(total=len(grid), initial=len(records), unit="cell",
                                       desc=f"sweep {grid.experiment}", disable=not progress))
        try:
            outcomes = _serial(todo) if client is None else _distributed(todo, client)
            for cell, outcome in outcomes:
                records[cell.id] = _store(outcome, cells_dir / cell.id)
                bar.update()
        finally:  # also on Ctrl-C: the table holds every cell done so far
            ordered = [_row(cell, records[cell.id]) for cell in grid.cells if cell.id in records]
            _write_table(ordered, out)
    figures = {}
    for parameter in grid.parameters:
        if parameter == REPLICATE:
            continue
        others = [p for p in grid.parameters if p not in (parameter, REPLICATE)]
        path = out / f"summary_{re.sub(r'[^A-Za-z0-9_.-]', '_', parameter)}.png"
        if plot_summary(ordered, parameter, group_by=others, path=path) is not None:
            figures[parameter] = path
    seconds = time.perf_counter() - start
    write_json(out / "sweep.json", {**meta, "run": len(todo), "seconds": round(seconds, 3),
                                    "failed": sum(row["status"] != "ok" for row in ordered)})
    return SweepResult(ordered, list(grid.parameters), out, figures, len(todo), len(grid) - len(todo),
                       seconds)


def _as_grid(grid, source="grid"):
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, dict):
        return Grid.from_dict(grid, source)
    raise ValueError(f"grid must be a grid file, its parsed dict or a Grid; got {type(grid).__name__}")


def _warm_up_modules(experiment):
    """What a cell of ``experiment`` imports (its module, pyplot for its figures), without importing."""
    return [f"{experiments.__name__}.{experiments.EXPERIMENTS[experiment]}", "matplotlib.pyplot"]


def _serial(cells):
    for cell in cells:
        yield cell, run_cell(cell.experiment, cell.fast, cell.overrides, f"cells/{cell.id}")


def _require_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("a distributed sweep needs Dask distributed: pip install "
                          "'quotientlearn[distributed]' (or run the cells in this process with "
                          "--serial)") from exc
    return distributed


#: The environment of local worker processes: Dask's defaults (one BLAS/OpenMP thread each) and its
#: loggers at WARNING (workers import quotientlearn, whose geomstats sends INFO logs to the root
#: logger), but not Dask's MALLOC_TRIM_THRESHOLD_=65536: trimming the heap that eagerly made a demo cell
#: spend ~15% more CPU time (kernel time of page faults on every numpy temporary; measured in-process,
#: 4.5x the page faults). A sweep's worker holds one cell's arrays at a time and needs no trimming.
_WORKER_ENVIRON = {"DASK_LOGGING__DISTRIBUTED": "warning", "OMP_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _start_forkserver(preload):
    """Start the process the local workers are forked from, importing ``preload`` there once.

    Dask starts worker processes with ``spawn`` by default: each imports Dask, numpy, geomstats and
    the experiment itself (~2 s of CPU), and a cell's first run pays the rest. ``fork`` would inherit
    the client's imports, but the client is multi-threaded by then (Dask's event loop), and a child
    forked from it can inherit a lock held by another thread and hang. ``forkserver`` is safe (the
    server is a fresh single-threaded interpreter; Python 3.14 made it Linux's default) and pays the
    imports once, in one process started here while this process validates the grid (:func:`sweep`
    starts it first) and starts the scheduler. Every worker, and a worker restarted after a crash,
    is a fork of it, warm from its first cell. The server serves this process until it exits, so
    later local clusters start in a fraction of a second; its preload list is fixed when it starts
    (a later sweep of another experiment imports that one in the workers).

    Returns the start method for Dask: "forkserver", or "spawn" where there is none (Windows).
    """
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods() or \
            importlib.util.find_spec("distributed") is None:  # the caller says what is missing
        return "spawn"
    # The server's environment is its workers'. Dask's nanny too writes its pre-spawn environment
    # into this process's (before each start: too late for a server that already runs).
    os.environ.update(_WORKER_ENVIRON)
    # Dask sets its own preload list (Dask, numpy, pandas) on first use; a running server keeps ours.
    forkserver.set_forkserver_preload(["distributed", *preload])
    forkserver.ensure_running()  # returns at once: the server imports while the scheduler starts
    return "forkserver"


@contextlib.contextmanager
def local_cluster(workers=None, preload=()):
    """A Dask ``LocalCluster`` on the loopback interface, set up as :func:`sweep` starts one.

    One worker process per core (or ``workers``), one thread each, forked from a server process that
    has imported ``preload`` (see the notes), Dask's loggers at WARNING and no statistical profiler.
    Use it to keep one cluster across several sweeps:
    ``with local_cluster(4) as cluster, distributed.Client(cluster) as client: sweep(..., scheduler=client)``.

    Parameters
    ----------
    workers : int, optional
        Default: the number of cores.
    preload : sequence of str
        Modules the workers have imported before their first cell, such as the experiment's
        (:func:`sweep` passes ``quotientlearn.experiments.<name>`` and matplotlib's pyplot).

    Yields
    ------
    cluster : distributed.LocalCluster

    Notes
    -----
    Worker processes start with the ``forkserver`` method (``spawn`` where it does not exist): one
    server process, started on first use and kept until this process exits, imports ``preload``
    once and every worker is forked from it, so workers start in a fraction of a second and their
    first cell is as fast as the others. ``fork`` is not used: this process runs Dask's event loop
    in a thread by then, and forking a multi-threaded process can hang the child. Dask's trimming of
    the workers' heap (``MALLOC_TRIM_THRESHOLD_``) is left off: it cost a cell ~15% more CPU time.
    The event-loop watchdog and system monitor tick every 1 s and 5 s instead of 20 ms and 0.5 s:
    an idle worker then costs 0.2% of a core instead of 1.7% (the client 0.7% instead of 3.2%).

    Examples
    --------
    One cluster kept across sweeps (it needs the ``distributed`` extra):

    >>> import pytest
    >>> distributed = pytest.importorskip("distributed")
    >>> import tempfile
    >>> import quotientlearn as ql
    >>> grid = {"experiment": "hyperbola", "fixed": {"fast": True, "n_steps": 300, "burn_in": 100},
    ...         "grid": {"seed": [0]}}
    >>> with ql.sweeps.local_cluster(workers=1) as cluster, distributed.Client(cluster) as client:
    ...     with tempfile.TemporaryDirectory() as out:
    ...         result = ql.sweep(grid, out=out, scheduler=client, progress=False)
    >>> result.rows[0]["status"]
    'ok'
    """
    method = _start_forkserver(list(preload))
    distributed = _require_distributed()
    import dask

    with dask.config.set({
        "distributed.worker.multiprocessing-method": method,
        "distributed.nanny.pre-spawn-environ": _WORKER_ENVIRON,  # replaces Dask's: see above
        # The statistical profiler samples the running cell every 10 ms, holding the GIL: it cost a
        # demo cell 10-15% more CPU time (measured), and a sweep has no use for it.
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "5s",
    }), distributed.LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                 processes=True, host="127.0.0.1", dashboard_address=":0") as cluster:
        yield cluster


def _client(scheduler, workers, stack, preload=()):
    """A Dask client: of a new local cluster, of the scheduler at an address, or the one given."""
    stack.enter_context(_quiet("distributed"))
    if scheduler is None:
        cluster = stack.enter_context(local_cluster(workers, preload))
        return stack.enter_context(_require_distributed().Client(cluster))
    distributed = _require_distributed()
    if isinstance(scheduler, str):
        try:
            return stack.enter_context(distributed.Client(scheduler, timeout="20s"))
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    return scheduler


def _distributed(cells, client):
    from distributed import as_completed

    futures = {client.submit(run_cell, cell.experiment, cell.fast, cell.overrides, f"cells/{cell.id}",
                             key=f"quotientlearn-cell-{cell.id}"): cell for cell in cells}
    try:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the task itself was lost, e.g. its workers kept dying
                outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "report": None,
                           "files": {}, "wall_time": None, "cpu_time": None, "worker": None}
            future.release()
            yield futures[future], outcome
    finally:
        client.cancel([future for future in futures if not future.done()])


@contextlib.contextmanager
def _quiet(name):
    """Hide a library's INFO messages (geomstats sets the root logger to INFO) while a sweep runs."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _store(outcome, cell_dir):
    """Write a cell's files, then its record (last: a stored record marks the cell complete)."""
    shutil.rmtree(cell_dir, ignore_errors=True)
    for name, data in outcome["files"].items():
        atomic_write_bytes(cell_dir / name, data)
    record = {key: outcome[key] for key in _HOW}
    record["results"] = _scalars(outcome["report"] or {})
    write_json(cell_dir / _RECORD_FILE, record)
    return record


def _stored_record(cell_dir):
    path = cell_dir / _RECORD_FILE
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("status") == "ok" else None  # failed cells are retried


def _row(cell, record):
    """A row of the table: the cell's parameters (as this grid names them), how it ran, its results."""
    row = {"cell": cell.id, **cell.params, **{key: record[key] for key in _HOW}}
    for name, value in record["results"].items():
        row[f"report.{name}" if name in row else name] = value
    return row


def _write_table(rows, out):
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(out / "results.csv", buffer.getvalue().encode())
    lines = "".join(json.dumps(to_jsonable(row)) + "\n" for row in rows)
    atomic_write_bytes(out / "results.jsonl", lines.encode())


def load_results(out):
    """The rows of a sweep's ``results.jsonl``, as a list of dicts (``pandas.DataFrame(rows)``).

    Examples
    --------
    >>> import tempfile
    >>> import quotientlearn as ql
    >>> grid = {"experiment": "hyperbola", "fixed": {"fast": True, "n_steps": 300, "burn_in": 100},
    ...         "grid": {"seed": [0]}}
    >>> with tempfile.TemporaryDirectory() as out:
    ...     _ = ql.sweep(grid, out=out, serial=True, progress=False)
    ...     rows = ql.sweeps.load_results(out)  # the table, read back from results.jsonl
    >>> rows[0]["status"], rows[0]["seed"]
    ('ok', 0)
    """
    path = Path(out) / "results.jsonl"
    if not path.exists():
        raise ValueError(f"{path} does not exist: is {out} a sweep's output folder?")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------ summary figure
def _numeric(value):
    return isinstance(value, bool | int | float)


def _varies(values):
    """Numbers (None for missing) that are not all equal up to rounding: worth a panel."""
    present = [value for value in values if value is not None]
    if not present or not all(_numeric(value) for value in present):
        return False
    present = np.asarray(present, dtype=float)
    return bool(np.ptp(present) > 1e-9 * max(1.0, np.max(np.abs(present))))


def plot_summary(rows, parameter, metrics=None, group_by=(), replicate=REPLICATE, path=None,
                 axes=None):
    """Each numeric result against one parameter: the median over replicates, with a min–max band.

    Parameters
    ----------
    rows : list of dict
        Rows of a sweep (:attr:`SweepResult.rows` or :func:`load_results`); failed cells are left out.
    parameter : str
        The x axis (numbers, or categories in order of appearance).
    metrics : list of str, optional
        Default: every numeric column that is not a parameter and varies across the rows.
    group_by : list of str
        Parameters that separate lines (one line per combination of their values).
    replicate : str
        The parameter the bands run over (rows differing only in it are replicates).
    path : str or Path, optional
        Save the figure there.
    axes : sequence of matplotlib Axes, optional
        One per metric; default: a new figure.

    Returns
    -------
    figure : matplotlib Figure or None
        None when there is nothing to draw (no successful row or no numeric result).

    Examples
    --------
    >>> import quotientlearn as ql
    >>> rows = [{"temperature": t, "seed": s, "exponent": 1.0 + 0.01 * s}
    ...         for t in (0.1, 0.2) for s in (0, 1, 2)]
    >>> figure = ql.sweeps.plot_summary(rows, "temperature", metrics=["exponent"])
    """
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row.get("status") == "ok"]
    if metrics is None:
        skip = {"cell", *_HOW, parameter, replicate, *group_by}
        names = [*dict.fromkeys(key for row in rows for key in row if key not in skip),
                 "wall_time", "cpu_time"]  # results first, then what they cost
        metrics = [name for name in names if _varies([row.get(name) for row in rows])]
    if not rows or not metrics:
        return None
    x_values = list(dict.fromkeys(row[parameter] for row in rows))
    numeric_x = all(_numeric(x) and not isinstance(x, bool) for x in x_values)
    if numeric_x:
        x_values.sort()
    position = {x: (x if numeric_x else index) for index, x in enumerate(x_values)}
    groups = list(dict.fromkeys(tuple(row.get(key) for key in group_by) for row in rows))
    if axes is None:
        n_cols = min(3, len(metrics))
        n_rows = -(-len(metrics) // n_cols)
        figure, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.2 * n_rows), squeeze=False)
        for ax in axes.flat[len(metrics):]:
            ax.set_visible(False)
        axes = list(axes.flat)
    else:
        axes = list(axes)
        figure = axes[0].figure
    for ax, metric in zip(axes, metrics, strict=False):
        for index, group in enumerate(groups):
            xs, low, mid, high = [], [], [], []
            for x in x_values:
                values = [float(row[metric]) for row in rows
                          if row[parameter] == x and tuple(row.get(k) for k in group_by) == group
                          and _numeric(row.get(metric))]
                if values:
                    xs.append(position[x])
                    low.append(min(values))
                    mid.append(float(np.median(values)))
                    high.append(max(values))
            label = ", ".join(f"{k}={v}" for k, v in zip(group_by, group, strict=True)) or None
            ax.plot(xs, mid, "o-", color=f"C{index}", label=label, lw=1.5, ms=4)
            ax.fill_between(xs, low, high, color=f"C{index}", alpha=0.2, lw=0)
        ax.set_xlabel(parameter)
        ax.set_ylabel(metric)
        if numeric_x and min(x_values) > 0 and max(x_values) >= 4 * min(x_values):
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks([position[x] for x in x_values], [f"{x:g}" if numeric_x else str(x)
                                                        for x in x_values])
    if group_by:
        axes[0].legend(fontsize=8)
    figure.suptitle(f"median over {replicate} (band: min to max)", fontsize=9)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure
