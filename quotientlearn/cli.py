"""The ``quotientlearn`` command: ``demo``, ``list``, ``run NAME``, ``sweep GRID.toml``, ``check``."""

from __future__ import annotations

import argparse
import sys

from quotientlearn import experiments


def _parser():
    parser = argparse.ArgumentParser(
        prog="quotientlearn",
        description="Implicit bias as a gauge correction: predict it, simulate it, design it.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
                     help="override a configuration value (repeatable)")
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


def main(argv=None):
    """Entry point of the ``quotientlearn`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            report = experiments.run("demo", out=args.out)
            print(f"wrote {args.out}/report.json")
            return 0 if report.get("passed", True) else 1
        if args.command == "list":
            for name, description in experiments.list_experiments():
                print(f"{name:<20s} {description}")
            return 0
        if args.command == "run":
            overrides = experiments.parse_overrides(args.overrides)
            if args.ablation:
                overrides["ablation"] = True
            if args.instance is not None:
                overrides["instance"] = args.instance
            report = experiments.run(args.name, seeds=args.seeds, fast=args.fast, out=args.out,
                                     resume=args.resume, overrides=overrides)
            out = args.out or f"quotientlearn-out/{args.name}"
            print(f"{args.name}: done in {report['seconds']:.1f} s; wrote {out}/report.json")
            return 0
        if args.command == "sweep":
            from quotientlearn.sweeps import sweep

            try:
                result = sweep(args.grid, out=args.out, scheduler=args.scheduler, workers=args.workers,
                               resume=args.resume, serial=args.serial)
            except ImportError as exc:  # the `distributed` extra is missing: a user error
                raise ValueError(str(exc)) from None
            print(result.summary())
            return 1 if result.failed else 0
        if args.command == "check":
            from quotientlearn import models, testing

            failed = False
            for model in models.zoo().values():
                report = testing.check_model(model, seed=args.seed)
                print(report)
                failed |= not report.passed
            return 1 if failed else 0
    except (ValueError, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            print("interrupted; rerun with --resume to continue from the last checkpoint",
                  file=sys.stderr)
            return 130
        print(f"quotientlearn: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
