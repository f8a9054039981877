"""The experiment list: every runnable study, by name.

Each experiment is a module of this package defining ``DESCRIPTION`` (one line), ``CONFIG`` (the full
configuration, a flat dict of JSON-serialisable values), ``FAST`` (overrides for a quick run) and
``run(config, out_dir, resume=False) -> dict`` (the report; it writes its own arrays and figures into
``out_dir``). :func:`run` resolves the configuration, calls the module and writes ``report.json``.
"""

from __future__ import annotations

import ast
import importlib
import time
from pathlib import Path

from quotientlearn.experiments.settings import SETTINGS, Setting, SettingError, validate_config
from quotientlearn.io import claim_folder, write_json

__all__ = ["EXPERIMENTS", "SETTINGS", "Setting", "SettingError", "default_out", "describe", "get",
           "has_checkpoints", "list_experiments", "parse_overrides", "resolve_config", "run",
           "validate_config"]

#: name -> module (in quotientlearn.experiments); the only registry in the package.
EXPERIMENTS = {
    "demo": "demo",
    "theorem1-check": "theorem1_check",
    "manifold-check": "manifold_check",
    "bias-strength": "bias_strength",
    "hyperbola": "hyperbola",
    "relu-balance": "relu_balance",
    "attention-balance": "attention_balance",
    "matrix-completion": "matrix_completion",
    "spectral-sparsity": "spectral_sparsity",
    "tv-recovery": "tv_recovery",
    "inverse-design": "inverse_design",
}


def get(name):
    """The module of experiment ``name``.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> experiments.get("hyperbola").__name__
    'quotientlearn.experiments.hyperbola'
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"quotientlearn.experiments.{EXPERIMENTS[name]}")


def _available():
    for name in EXPERIMENTS:
        try:
            yield name, get(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"quotientlearn.experiments.{EXPERIMENTS[name]}":
                raise


def list_experiments():
    """``[(name, one-line description), ...]`` for every available experiment.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> name, description = experiments.list_experiments()[0]
    >>> name
    'demo'
    """
    return [(name, module.DESCRIPTION) for name, module in _available()]


def describe(name):
    """Description and default configuration of experiment ``name``.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> info = experiments.describe("hyperbola")
    >>> info["description"][:5], info["config"]["n_steps"], info["fast"]["n_steps"]
    ('Fig 1', 50000, 6000)
    """
    module = get(name)
    return {"name": name, "description": module.DESCRIPTION, "config": dict(module.CONFIG),
            "fast": dict(module.FAST)}


def parse_overrides(pairs):
    """Parse ``["KEY=VALUE", ...]`` into a dict; values are Python literals or plain strings.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> experiments.parse_overrides(["n_steps=100", "lr=0.01"])
    {'n_steps': 100, 'lr': 0.01}
    """
    overrides = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise SettingError(f"--set expects KEY=VALUE; got {pair!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        overrides[key.strip()] = value
    return overrides


def resolve_config(name, fast=False, seeds=None, overrides=None):
    """The configuration of a run: defaults, then ``FAST``, then ``seeds``, then ``overrides``.

    The result is checked against the declared schema (:func:`validate_config`).

    Raises
    ------
    SettingError
        (a ``ValueError``) On an unknown key (the valid keys are listed), a value of the wrong type or
        out of range, or settings inconsistent with each other.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> config = experiments.resolve_config("relu-balance", fast=True, overrides={"lr": 1e-4})
    >>> config["seeds"], config["lr"]
    (4, 0.0001)
    """
    module = get(name)
    config = dict(module.CONFIG)
    if fast:
        config.update(module.FAST)
    if seeds is not None:
        if "seeds" not in config:
            raise SettingError(f"experiment {name!r} takes no seeds")
        config["seeds"] = seeds
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise SettingError(f"experiment {name!r} has no setting {unknown[0]!r}; settings: "
                           f"{', '.join(sorted(config))}")
    config.update(overrides)
    return validate_config(config, experiment=name, known=module.CONFIG)


def run(name, seeds=None, fast=False, out=None, resume=False, overrides=None):
    """Run experiment ``name`` and write ``report.json`` into ``out`` (default ``quotientlearn-out/NAME``).

    Parameters
    ----------
    name : str
    seeds : int, optional
        Number of independent seeds (vectorised); overrides the configuration's ``seeds``.
    fast : bool
        Use the experiment's quick configuration.
    out : str or Path, optional
        Claimed for the run (:func:`quotientlearn.io.claim_folder`): another process writing it is
        refused, and temporary files a killed run left there are removed.
    resume : bool
        Continue from the checkpoint in ``out`` if there is one.
    overrides : dict, optional
        Configuration values to override.

    Returns
    -------
    report : dict
        Includes ``experiment``, ``config`` and ``seconds``.

    Examples
    --------
    >>> import tempfile
    >>> from quotientlearn import experiments
    >>> with tempfile.TemporaryDirectory() as out:
    ...     report = experiments.run("hyperbola", fast=True, out=out)
    >>> report["experiment"], report["fast"]
    ('hyperbola', True)
    """
    config = resolve_config(name, fast=fast, seeds=seeds, overrides=overrides)
    out_dir = Path(out) if out is not None else default_out(name)
    with claim_folder(out_dir):
        start = time.perf_counter()
        results = get(name).run(config, out_dir, resume=resume)
        report = {"experiment": name, "fast": bool(fast), "config": config,
                  "seconds": round(time.perf_counter() - start, 3), **results}
        write_json(out_dir / "report.json", report)
    return report


def default_out(name):
    """The default output folder of experiment ``name``: ``quotientlearn-out/NAME``.

    Examples
    --------
    >>> from quotientlearn import experiments
    >>> experiments.default_out("demo").as_posix()
    'quotientlearn-out/demo'
    """
    return Path("quotientlearn-out") / name


def has_checkpoints(out):
    """Whether folder ``out`` holds checkpoints a ``--resume`` would continue from.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from quotientlearn import experiments
    >>> with tempfile.TemporaryDirectory() as out:
    ...     before = experiments.has_checkpoints(out)
    ...     (Path(out) / "checkpoints").mkdir()
    ...     (Path(out) / "checkpoints" / "seed-0.npz").touch()
    ...     after = experiments.has_checkpoints(out)
    >>> before, after
    (False, True)
    """
    return any((Path(out) / "checkpoints").glob("*.npz"))
