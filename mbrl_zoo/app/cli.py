"""The ``mbrl-zoo`` command line.

    mbrl-zoo list [tasks|models|planners|algorithms|pairings]
    mbrl-zoo config PAIRING [--task T] [--set SECTION.KEY=VALUE ...] [--config FILE.yaml]
    mbrl-zoo run PAIRING --task T --seed S [--steps N] [--threads N] [--device D] [--out DIR] [--set ...]
                 [--resume | --overwrite] [--quiet]
    mbrl-zoo sweep --pairings P ... --tasks T ... [--seeds S ...] [--steps N] [--set ...]
                   [--grid SECTION.KEY=V1,V2,... ...] [--out DIR] [--workers K | --ray [ADDRESS]] [--threads N]
    mbrl-zoo sweep --spec FILE.yaml [--pairings P ...] [--tasks T ...] [--seeds S ...] [--out DIR]
                   [--workers K | --ray [ADDRESS]] [--threads N] [--dry-run]
    mbrl-zoo compare (RUN_DIR ... | --spec FILE.yaml) [--at STEP ...] [--column COLUMN] [--window K] [--out DIR]
    mbrl-zoo report (DIR ... | --spec FILE.yaml) [--threshold TASK=VALUE ...] [--window K] [--out FILE.md]
    mbrl-zoo check-tasks [--task T ...] [--transitions N]
    mbrl-zoo assignment list
    mbrl-zoo assignment make N --out DIR [--zoo-source SPEC]
    mbrl-zoo grade N FILE|FOLDER ... [--json results.json] [--csv grades.csv] [--quick] [--public-only]
                   [--workers K] [--set CHECK.KEY=VALUE ...] [--quiet]

Bad input (unknown names, bad keys or values, incompatible pairings, unknown env ids) prints one
paragraph on stderr and exits with code 2, before any results folder is made.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

from mbrl_zoo.errors import UserError

EXIT_BAD_INPUT = 2
KINDS = ("tasks", "models", "planners", "algorithms", "pairings")


class Terminated(BaseException):
    """SIGTERM, raised in the main thread (like Ctrl-C's KeyboardInterrupt) so that a run stopped
    by ``kill`` or a batch scheduler still closes its folder: progress bar, ``learning_curve.png``."""


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: exit 2 with one paragraph
        self.print_usage(sys.stderr)
        raise SystemExit(_fail(f"{self.prog}: {message}"))


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mbrl-zoo", description="Model-based RL zoo: run, list and check components.")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE.py|MODULE",
                        help="import a file or module that registers components (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = sub.add_parser("list", help="print the registry's tables")
    listing.add_argument("kind", nargs="?", choices=KINDS, help="one table (default: all)")

    def add_config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("pairing", help="a registered pairing (mbrl-zoo list pairings)")
        p.add_argument("--task", help="task name (mbrl-zoo list tasks)")
        p.add_argument("--seed", type=int, help="random seed (default 0)")
        p.add_argument("--steps", type=int, help="environment steps in all")
        p.add_argument("--threads", type=int, help="torch CPU threads (default 1; more pay only on idle cores)")
        p.add_argument("--device", help="cpu (default), cuda or cuda:N: where networks and buffers live")
        p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override a setting, e.g. planner.population_size=200 (repeatable)")
        p.add_argument("--config", metavar="FILE.yaml", help="YAML file of section: {key: value} overrides")

    show = sub.add_parser("config", help="print the resolved config of a pairing as JSON")
    add_config_args(show)

    run = sub.add_parser("run", help="train a pairing on a task, writing a results folder")
    add_config_args(run)
    run.add_argument("--out", help="results folder (default runs/PAIRING/TASK/seedS)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    run.add_argument("--overwrite", action="store_true", help="replace a finished or interrupted run in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    sweep = sub.add_parser("sweep", help="run a grid of pairings x tasks x settings x seeds; summary table and curves")
    sweep.add_argument("--spec", metavar="FILE.yaml",
                       help="a study's YAML spec (pairings, tasks, seeds, steps, grid, set, pairing_set); "
                            "writes beside it")
    sweep.add_argument("--pairings", nargs="+", metavar="PAIRING", help="with --spec: run only these of its pairings")
    sweep.add_argument("--tasks", nargs="+", metavar="TASK", help="with --spec: run only these of its tasks")
    sweep.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                       help="default 0 1 2; with --spec: run only these of its seeds")
    sweep.add_argument("--steps", type=int, help="environment steps per run (default: each pairing's)")
    sweep.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override a setting in every cell (repeatable)")
    sweep.add_argument("--grid", action="append", default=[], metavar="SECTION.KEY=V1,V2,...",
                       help="sweep a setting over these values too (repeatable: the product of all grids); "
                            "values holding commas as one YAML list: KEY=[[64,64],[128,128]]")
    sweep.add_argument("--config", metavar="FILE.yaml", help="YAML overrides for every cell")
    sweep.add_argument("--out", help="sweep folder (default: the spec's folder, else runs/sweep)")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, help="local processes running cells in parallel")
    where.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                       help="run cells as Ray tasks: on this machine, or on the cluster at ADDRESS")
    sweep.add_argument("--threads", type=int,
                       help="torch threads per cell (default: 1 with --workers or --ray, else torch's own)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bars and no line per finished cell")
    sweep.add_argument("--dry-run", action="store_true",
                       help="check every cell and list what would run (finished, resumed, new); run nothing")

    compare = sub.add_parser("compare", help="runs side by side: curves and returns at equal env steps")
    compare.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run folders (config.json + metrics.csv), or folders holding them")
    compare.add_argument("--spec", metavar="FILE.yaml",
                         help="instead of RUN_DIR: the cells of this sweep spec that have finished")
    compare.add_argument("--at", nargs="+", type=int, default=[], metavar="STEP",
                         help="env steps at which to tabulate each run's return too (the final return always is)")
    compare.add_argument("--column", default="return", help="metrics.csv column to compare (default return)")
    compare.add_argument("--window", type=int, default=5,
                         help="episodes averaged: the last scored ones for the final return, the last ones "
                              "ending at or before each --at step (default 5)")
    compare.add_argument("--out", default="runs/compare",
                         help="folder for comparison.csv and curves.png (default runs/compare)")

    report = sub.add_parser("report", help="a Markdown table of a sweep: final return, steps to a threshold, time")
    report.add_argument("runs", nargs="*", metavar="DIR",
                        help="a sweep folder or summary.csv, run folders, or folders holding them")
    report.add_argument("--spec", metavar="FILE.yaml",
                        help="instead of DIR: the cells of this sweep spec that have finished, with its thresholds, "
                             "and the cells still to run")
    report.add_argument("--threshold", action="append", default=[], metavar="TASK=VALUE",
                        help="report the env steps each run took to reach this return on TASK (repeatable)")
    report.add_argument("--window", type=int, default=5, help="scored episodes averaged into the final return")
    report.add_argument("--out", metavar="FILE.md", help="also write the table to this file")

    check = sub.add_parser("check-tasks", help="compare each task's reward/termination with its env")
    check.add_argument("--task", action="append", default=[], help="only this task (repeatable)")
    check.add_argument("--transitions", type=int, default=500, help="random transitions per task")

    assignment = sub.add_parser("assignment", help="course assignments: list them, write a student pack")
    assignment_sub = assignment.add_subparsers(dest="assignment_command", required=True, parser_class=_Parser)
    assignment_sub.add_parser("list", help="the assignments, their files and checks")
    make = assignment_sub.add_parser("make", help="write the student pack of assignment N")
    make.add_argument("number", type=int, metavar="N", help="assignment number (mbrl-zoo assignment list)")
    make.add_argument("--out", required=True, help="new folder for the pack")
    make.add_argument("--zoo-source", metavar="SPEC",
                      help="what students pip-install to get the zoo (default: this checkout's folder, or "
                           "where the installed zoo came from)")

    grade = sub.add_parser("grade", help="grade submissions of assignment N: table, Gradescope JSON, CSV")
    grade.add_argument("number", type=int, metavar="N", help="assignment number (mbrl-zoo assignment list)")
    grade.add_argument("submissions", nargs="+", metavar="FILE|FOLDER",
                       help="submitted files; a folder stands for its .py files and its subfolders' student files")
    grade.add_argument("--json", metavar="results.json", help="Gradescope results of the (one) submission")
    grade.add_argument("--csv", metavar="grades.csv", help="one row per submission, one column per check")
    grade.add_argument("--quick", action="store_true", help="skip the end-to-end checks")
    grade.add_argument("--public-only", action="store_true", help="only the checks of the student pack")
    grade.add_argument("--workers", type=int, default=1, help="checks run at once (default 1)")
    grade.add_argument("--set", action="append", default=[], metavar="CHECK.KEY=VALUE",
                       help="change a check's points, timeout_s or parameter, e.g. pets_cartpole.steps=1500")
    grade.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from mbrl_zoo.app import load_plugins

        load_plugins(args.plugin)
        return COMMANDS[args.command](args)
    except UserError as exc:
        return _fail(str(exc))
    except (KeyboardInterrupt, Terminated) as exc:
        again = {"run": "resume with the same command and --resume",
                 "sweep": "run the same command again to resume its unfinished cells"}.get(args.command)
        print(f"interrupted; {again}" if again else "interrupted", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def _resolve(args: argparse.Namespace):
    from mbrl_zoo.config import load_yaml, merge, parse_set, resolve

    flags = {k: v for k, v in (("task", args.task), ("seed", args.seed), ("steps", args.steps),
                               ("threads", args.threads), ("device", args.device)) if v is not None}
    layers = [load_yaml(args.config)] if args.config else []
    return resolve(args.pairing, merge(*layers, parse_set(args.set), {"run": flags}))


def cmd_list(args: argparse.Namespace) -> int:
    from mbrl_zoo import registry

    tables = {"tasks": registry.TASKS, "models": registry.MODELS, "planners": registry.PLANNERS,
              "algorithms": registry.ALGORITHMS, "pairings": registry.PAIRINGS}
    for kind in [args.kind] if args.kind else KINDS:
        print(f"{kind}:")
        for entry in tables[kind]:
            obj = entry.obj
            if kind == "pairings":
                parts = [f"algorithm={obj.algorithm}", f"model={obj.model}", f"planner={obj.planner}"]
                text = f"{obj.description} [{' '.join(p for p in parts if not p.endswith('=None'))}]"
            else:
                tags = f" [{', '.join(sorted(entry.tags))}]" if entry.tags else ""
                text = f"{getattr(obj, 'summary', None) or entry.summary}{tags}"
            print(textwrap.fill(text, width=100, initial_indent=f"  {entry.name:<26} ",
                                subsequent_indent=" " * 29, break_on_hyphens=False))
        print()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(_resolve(args).to_dict(), indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from mbrl_zoo.app import train
    from mbrl_zoo.config import load_yaml, merge, parse_set

    layers = [load_yaml(args.config)] if args.config else []
    out = train(args.pairing, args.task, steps=args.steps, seed=args.seed, threads=args.threads,
                device=args.device, out=args.out, overrides=merge(*layers, parse_set(args.set)), resume=args.resume, overwrite=args.overwrite,
                quiet=args.quiet)
    print(json.dumps(run_summary(out)))
    return 0


def run_summary(out: Path) -> dict:
    """The one JSON line ``mbrl-zoo run`` prints: folder, episodes, env steps, the return of the
    last episode the step budget did not cut short (None if none), and the time."""
    from mbrl_zoo.runs import read_metrics

    rows = read_metrics(out)
    last = rows[-1] if rows else None
    whole = [r for r in rows if r.get("cut") != 1]
    return {"out": str(out), "episodes": len(rows), "env_steps": last["env_step"] if last else 0,
            "last_return": whole[-1]["return"] if whole else None,
            "wall_s": round(last["wall_s"], 1) if last else 0.0}


def _part_of_spec(spec: str, flag: str, chosen: list | None, listed: list) -> list:
    """``chosen`` (a flag's values beside ``--spec``) when every one is among the spec's ``listed``,
    ``listed`` itself when the flag is not given."""
    if not chosen:
        return list(listed)
    unknown = [value for value in chosen if value not in listed]
    if unknown:
        raise UserError(f"{flag} {' '.join(map(str, unknown))}: not in --spec {spec}, whose {flag[2:]} are "
                        f"{', '.join(map(str, listed))}; {flag} beside a spec picks a part of its cells.")
    return list(chosen)


def cmd_sweep(args: argparse.Namespace) -> int:
    from mbrl_zoo.app.sweep import DEFAULT_SEEDS, SUMMARY_COLUMNS, grid, load_spec, parse_grid, plan_text, run_sweep
    from mbrl_zoo.config import load_yaml, merge, parse_set

    if args.spec:
        given = [flag for flag, value in (("--steps", args.steps), ("--set", args.set), ("--grid", args.grid),
                                          ("--config", args.config)) if value]
        if given:
            raise UserError(f"--spec {args.spec} states the sweep, so {', '.join(given)} cannot be given beside it; "
                            "edit the spec (or drop --spec).")
        spec = load_spec(args.spec)
        base, steps, settings = spec.set, spec.steps, spec.grid
        # --pairings, --tasks and --seeds beside a spec pick a part of its cells, with the spec's settings
        pairings, tasks, seeds = (_part_of_spec(args.spec, flag, chosen, listed) for flag, chosen, listed in (
            ("--pairings", args.pairings, spec.pairings), ("--tasks", args.tasks, spec.tasks),
            ("--seeds", args.seeds, [int(s) for s in spec.seeds])))
        cells = grid(pairings, tasks, seeds, settings, spec.pairing_set)
        out = args.out or str(Path(args.spec).parent)
    else:
        if not args.pairings or not args.tasks:
            raise UserError("sweep needs --pairings and --tasks (or --spec FILE.yaml).")
        base = merge(*([load_yaml(args.config)] if args.config else []), parse_set(args.set))
        steps, settings = args.steps, parse_grid(args.grid)
        cells = grid(args.pairings, args.tasks, args.seeds or list(DEFAULT_SEEDS), settings)
        out = args.out or "runs/sweep"
    if args.dry_run:
        print(plan_text(cells, base, steps, out))
        return 0
    rows = run_sweep(cells, base, steps, out, plugins=args.plugin, workers=args.workers,
                     ray_address=args.ray, quiet=args.quiet, threads=args.threads)
    columns = [*SUMMARY_COLUMNS[:2], *settings, *SUMMARY_COLUMNS[2:]]
    print("  ".join(columns))
    for row in rows:
        print("  ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else "-" if row[c] is None else str(row[c])
                        for c in columns))
    print(f"summary: {out}/summary.csv, curves: {out}/curves.png")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from mbrl_zoo.app.compare import compare, format_table

    runs, left, tasks = _runs_or_spec(args)
    table, across = compare(runs, args.out, args.at, args.column, args.window, tasks)
    print(format_table(table))
    if across is not None and len(across):
        over_all = bool(tasks) and across["tasks"].max() == len(tasks)
        which = ("every task of the spec, over the labels that ran them all" if over_all
                 else "the tasks every label has runs on")
        print(f"\nacross {which} (final returns normalised per task between the lowest and highest run):")
        print(format_table(across, decimals=2))
    elif across is not None:
        print("\nacross tasks: no task on which every label has runs, so no aggregate.")
    written = f", aggregate: {args.out}/aggregate.csv" if across is not None else ""
    print(f"table: {args.out}/comparison.csv{written}, curves: {args.out}/curves.png")
    if left:
        print(f"not finished yet: {left}")
    return 0


def _runs_or_spec(args: argparse.Namespace) -> tuple[list[str], str, list[str]]:
    """The run folders ``args`` names (RUN_DIR ..., or the finished cells of ``--spec``) and, for a
    spec, its unfinished cells in words ("" when none) and its tasks (none without a spec)."""
    from mbrl_zoo.app.sweep import describe_cells, finished_cells

    if bool(args.runs) == bool(args.spec):
        raise UserError(f"{args.command} needs run folders or --spec FILE.yaml (one of the two).")
    if not args.spec:
        return args.runs, "", []
    spec, done, left = finished_cells(args.spec)
    return [str(cell.folder(Path(args.spec).parent)) for cell in done], describe_cells(left, spec), list(spec.tasks)


def cmd_report(args: argparse.Namespace) -> int:
    from mbrl_zoo.app.report import parse_thresholds, report, spec_report
    from mbrl_zoo.io import atomic_write_text

    if bool(args.runs) == bool(args.spec):
        raise UserError("report needs a sweep folder, a summary.csv or run folders, or --spec FILE.yaml (one of the "
                        "two).")
    thresholds = parse_thresholds(args.threshold)
    text = (spec_report(args.spec, thresholds, args.window) if args.spec
            else report(args.runs, thresholds, args.window))
    if args.out:
        if Path(args.out).is_dir():
            raise UserError(f"--out {args.out!r} is a folder; give a file name for the Markdown table "
                            "(e.g. report.md).")
        atomic_write_text(args.out, text)
    print(text, end="")
    return 0


def cmd_check_tasks(args: argparse.Namespace) -> int:
    from mbrl_zoo.registry import TASKS
    from mbrl_zoo.tasks import check_task

    names = args.task or TASKS.names()
    specs = [TASKS.get(name).obj for name in names]
    failed = 0
    for spec in specs:
        result = check_task(spec, transitions=args.transitions)
        print(result)
        failed += not result.ok
    print(f"{len(specs) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_assignment(args: argparse.Namespace) -> int:
    from mbrl_zoo.app import assignments

    if args.assignment_command == "list":
        for a in assignments.assignments():
            checks = a.checks()
            hidden = sum(c.hidden for c in checks)
            print(f"{a.number}  {a.title}: {a.student_file}, {len(checks)} checks ({hidden} hidden), "
                  f"{sum(c.points for c in checks):g} points")
            print(textwrap.fill(a.summary, width=100, initial_indent="   ", subsequent_indent="   "))
        return 0
    written = assignments.make_pack(args.number, args.out, args.zoo_source)
    print(f"wrote the pack of assignment {args.number} to {args.out}: {', '.join(p.name for p in written)}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from mbrl_zoo.app import assignments, grade
    from mbrl_zoo.io import atomic_write_json, atomic_write_text

    assignment = assignments.get(args.number)
    named = assignments.submissions(args.submissions, assignment.student_file)
    if args.json and len(named) != 1:
        raise UserError(f"--json writes one submission's Gradescope results; got {len(named)} submissions. "
                        "Use --csv for several.")
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}.")
    checks = grade.override(assignment.checks(public_only=args.public_only), grade.parse_settings(args.set))
    total = len(named) * len([c for c in checks if not (args.quick and c.slow)])
    done = iter(range(1, total + 1))

    def tell(name: str, result: grade.CheckResult) -> None:
        verdict = "ok" if result.passed else "FAILED"
        print(f"[{next(done)}/{total}] {name} {result.check.name}: {verdict} ({result.seconds:.1f} s)",
              file=sys.stderr, flush=True)

    reports = grade.grade_all([path for _, path in named], checks, names=[name for name, _ in named],
                              workers=args.workers, quick=args.quick, progress=None if args.quiet else tell)
    for report in reports:
        print(grade.format_table(report))
        print()
    if args.json:
        atomic_write_json(args.json, grade.gradescope_results(reports[0]))
    if args.csv:
        atomic_write_text(args.csv, grade.grades_csv(reports))
    return 0


COMMANDS = {"list": cmd_list, "config": cmd_config, "run": cmd_run, "sweep": cmd_sweep, "compare": cmd_compare,
            "report": cmd_report, "check-tasks": cmd_check_tasks, "assignment": cmd_assignment, "grade": cmd_grade}


def entry_point() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of stdout left early (``mbrl-zoo config pets | head``): stop quietly, as Unix
        # tools do, with the shell's code for SIGPIPE; point stdout at /dev/null so that Python's
        # own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + 13
    raise SystemExit(code)


if __name__ == "__main__":
    entry_point()
