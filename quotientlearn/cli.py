"""The ``quotientlearn`` command: ``demo``, ``list``, ``run NAME``, ``sweep GRID.toml``, ``check``.

Exit codes, one rule for every command:

- ``0``: done, and every check the run makes passed;
- ``1``: the run completed but a check failed (the report says which), or a sweep cell failed;
- ``2``: a user error — a bad argument or setting, an unusable ``--out``, a corrupt or mismatched
  checkpoint, a diverging run, a size too large for memory — reported as one line on stderr,
  without a traceback;
- ``130``: interrupted (Ctrl-C); the message says whether ``--resume`` can continue the run.

Anything else (a traceback) is a bug in quotientlearn.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit code 2."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _Parser(
        prog="quotientlearn",
        description="Implicit bias as a gauge correction: predict it, simulate it, design it.",
        epilog="exit codes: 0 ok, 1 a check failed, 2 user error (one line on stderr), 130 interrupted",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run the main demonstration")
    demo.add_argument("--out", default="quotientlearn-out", help="output folder")

    sub.add_parser("list", help="list the experiments")

    run = sub.add_parser("run", help="run an experiment by name")
    run.add_argument("name", help="experiment name (see `quotientlearn list`)")
    run.add_argument("--seeds", type=int, default=None, help="number of seeds, run vectorised")
    run.add_argument("--fast", action="store_true", help="quick configuration")
    run.add_argument("--out", default=None, help="output folder (default quotientlearn-out/NAME)")
    run.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a setting (repeatable); types and ranges are checked")
    run.add_argument("--ablation", action="store_true",
                     help="also run the noise ablation (sets ablation=True where supported)")
    run.add_argument("--instance", choices=("random", "paper"), default=None,
                     help="problem instance: 'paper' trains on the authors' saved data "
                          "(sets instance=...; spectral-sparsity, tv-recovery)")

    sweep = sub.add_parser("sweep", help="run a grid of experiment settings on Dask distributed")
    sweep.add_argument("grid", help="grid file (TOML): experiment, [fixed], [grid], [[zip]]")
    sweep.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="address of a running Dask scheduler (default: a cluster on this machine)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
    sweep.add_argument("--out", default=None, help="output folder (default quotientlearn-out/sweep-NAME)")
    sweep.add_argument("--resume", action="store_true", help="skip the cells completed in --out")
    sweep.add_argument("--serial", action="store_true",
                       help="run the cells one after another in this process, without Dask")

    check = sub.add_parser("check", help="check the geometric identities of every zoo model")
    check.add_argument("--seed", type=int, default=0)
    return parser


# The package is imported inside main(), under its Ctrl-C handler: an interrupt while numpy, geomstats
# and the models load gives the one-line message, not a traceback.


def _run(name, args, overrides=None):
    from quotientlearn import experiments

    out = Path(args.out) if args.out is not None else experiments.default_out(name)
    report = experiments.run(name, seeds=getattr(args, "seeds", None), fast=getattr(args, "fast", False),
                             out=out, resume=getattr(args, "resume", False), overrides=overrides)
    print(f"{name}: done in {report['seconds']:.1f} s; wrote {out / 'report.json'}")
    if report.get("passed", True):
        return EXIT_OK
    failed = [check for check, ok in report.get("checks", {}).items() if not ok]
    print(f"{name}: checks failed{': ' + '; '.join(failed) if failed else ''} (see the report)",
          file=sys.stderr)
    return EXIT_CHECK_FAILED


def _command(args):
    from quotientlearn import experiments

    if args.command == "demo":
        return _run("demo", args)
    if args.command == "list":
        for name, description in experiments.list_experiments():
            print(f"{name:<20s} {description}")
        return EXIT_OK
    if args.command == "run":
        overrides = experiments.parse_overrides(args.overrides)
        if args.ablation:
            overrides["ablation"] = True
        if args.instance is not None:
            overrides["instance"] = args.instance
        return _run(args.name, args, overrides)
    if args.command == "sweep":
        from quotientlearn.sweeps import sweep

        try:
            result = sweep(args.grid, out=args.out, scheduler=args.scheduler, workers=args.workers,
                           resume=args.resume, serial=args.serial)
        except ImportError as exc:  # the `distributed` extra is missing: a user error
            raise ValueError(str(exc)) from None
        print(result.summary())
        return EXIT_CHECK_FAILED if result.failed else EXIT_OK
    from quotientlearn import models, testing

    failed = False
    for model in models.zoo().values():
        report = testing.check_model(model, seed=args.seed)
        print(report)
        failed |= not report.passed
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _interrupted_message(args):
    if args.command not in ("run", "demo"):
        return "interrupted"
    from quotientlearn import experiments

    name = getattr(args, "name", "demo")
    out = Path(args.out) if args.out is not None else experiments.default_out(name)
    if experiments.has_checkpoints(out):
        return f"interrupted; rerun the same command with --resume to continue from the checkpoints in {out}"
    return "interrupted; nothing to resume (no checkpoint was written; this run starts over next time)"


class _Interrupts:
    """Record that Ctrl-C was pressed, then raise ``KeyboardInterrupt`` as Python does.

    An interrupt that lands inside an import can surface as another exception (numpy reports an
    ``ImportError``); with the record, main() still reports it as an interrupt, on one line.
    """

    def __init__(self):
        self.seen = False
        self._previous = None

    def _handle(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def main(argv=None):
    """Entry point of the ``quotientlearn`` command; returns the exit code (see the module docstring)."""
    args = _parser().parse_args(argv)
    with _Interrupts() as interrupts:
        try:
            code = _command(args)
            if not interrupts.seen:  # a library may swallow the KeyboardInterrupt; the record stays
                return code
        except KeyboardInterrupt:
            pass
        except FloatingPointError as exc:  # DivergenceError, or numpy with errors set to raise
            print(f"quotientlearn: error: the run diverged: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USER_ERROR
        except MemoryError as exc:
            detail = f" ({exc})" if str(exc) else ""
            print(f"quotientlearn: error: out of memory{detail}; reduce the sizes in the settings",
                  file=sys.stderr)
            return EXIT_USER_ERROR
        except (ValueError, OSError) as exc:
            if not interrupts.seen:
                print(f"quotientlearn: error: {_one_line(exc)}", file=sys.stderr)
                return EXIT_USER_ERROR
        except BaseException:
            if not interrupts.seen:
                raise  # a bug: the traceback is the report
        print(f"quotientlearn: {_interrupted_message(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text if len(text) <= 600 else text[:597] + "..."


if __name__ == "__main__":
    sys.exit(main())
