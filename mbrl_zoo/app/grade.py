"""The autograder: checks with points and time limits, each run on a submission in its own process.

A check is a function ``check_fn(submission, **params)`` in an assignment's ``public_checks.py``
or ``hidden_checks.py``, marked with :func:`check` (its points, time limit and parameters). It
receives the submitted file imported as a module, raises :class:`CheckFailed` (or any exception)
when the submission is wrong, and returns nothing or a short note when it is right.

Isolation: every check runs in a fresh process forked from a server that has imported the zoo
once (``multiprocessing``'s forkserver), so a check starts in milliseconds instead of the
seconds an import of torch takes, yet shares no state with the grader or with other checks.
A check that passes its time limit is killed with its whole process group; one that dies (a
segfault, ``os._exit``) or prints more than :data:`MAX_OUTPUT_BYTES` fails with the reason.
What it prints is kept up to :data:`OUTPUT_EXCERPT` characters for the report. The grader
itself never runs the submission's code, so nothing a submission does stops the grading.

Reports: :func:`format_table` (a table per submission), :func:`gradescope_results` (the
``results.json`` of Gradescope's autograder specification) and :func:`grades_csv` (one row per
submission, one column per check).
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from mbrl_zoo.errors import UserError, unknown_name
from mbrl_zoo.registry import first_sentence

DEFAULT_TIMEOUT_S = 30.0
MAX_OUTPUT_BYTES = 1 << 20
"""A check whose code prints more than this (1 MiB) fails: a print in a training loop floods the
report and slows the grading; the check is stopped as soon as the limit is passed."""
OUTPUT_EXCERPT = 2000
"""Characters of a check's printed output kept in the reports (the start of it)."""
IMPORT_TIMEOUT_S = 60.0
"""Time a submission has to import once, before its checks run."""
HIDDEN_VISIBILITY = "after_published"
"""Gradescope visibility of hidden checks: students see them once the grades are published."""


class CheckFailed(Exception):
    """A check's verdict that the submission is wrong; the message says what was expected."""


@dataclass(frozen=True)
class Check:
    """One graded check: the function ``function_name`` in the checks file ``path``.

    ``points``: what passing it earns. ``timeout_s``: wall-clock limit of its process.
    ``slow``: an end-to-end check (left out by ``--quick``). ``hidden``: not in the student pack.
    ``params``: keyword arguments of the function (budgets, tolerances), overridable per course.
    """

    name: str
    points: float
    timeout_s: float
    slow: bool
    hidden: bool
    params: Mapping[str, Any]
    summary: str
    path: Path
    function_name: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one submission: ``score`` of ``check.points``; ``message`` is
    the reason of a failure (or the check's note on a pass); ``output`` the start of what it printed."""

    check: Check
    passed: bool
    message: str
    output: str
    seconds: float

    @property
    def score(self) -> float:
        return self.check.points if self.passed else 0.0


@dataclass
class Report:
    """All checks run on one submission ``path`` (labelled ``name``), in the assignment's order."""

    name: str
    path: Path
    results: list[CheckResult] = field(default_factory=list)
    skipped: list[Check] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.check.points for r in self.results)


# --- declaring checks ------------------------------------------------------------------------


def check(points: float, timeout_s: float = DEFAULT_TIMEOUT_S, slow: bool = False, **params: Any):
    """Decorator: mark ``fn(submission, **params)`` as a check worth ``points``, killed after
    ``timeout_s`` seconds; ``slow`` marks an end-to-end check; ``params`` are its defaults."""
    if points < 0 or timeout_s <= 0:
        raise ValueError(f"a check needs points >= 0 and timeout_s > 0; got {points}, {timeout_s}")

    def mark(fn: Callable) -> Callable:
        fn.__check__ = {"points": float(points), "timeout_s": float(timeout_s), "slow": bool(slow),
                        "params": dict(params)}
        return fn

    return mark


def load_checks(path: Path, hidden: bool) -> list[Check]:
    """The checks defined in the file ``path``, in the order they appear in it."""
    module = _import_path(path, f"mbrl_zoo_checks_{'hidden' if hidden else 'public'}_{abs(hash(str(path)))}")
    found = []
    for name, fn in vars(module).items():
        spec = getattr(fn, "__check__", None)
        if spec is None or getattr(fn, "__module__", None) != module.__name__:
            continue
        label = name.removeprefix("check_")
        found.append(Check(label, spec["points"], spec["timeout_s"], spec["slow"], hidden, spec["params"],
                           first_sentence(inspect.getdoc(fn) or ""), Path(path), name))
    return found


def override(checks: Sequence[Check], settings: Mapping[str, Mapping[str, Any]]) -> list[Check]:
    """``checks`` with per-check settings replaced: ``{check: {"points": 3, "timeout_s": 60,
    PARAM: value}}``. Unknown checks and keys raise :class:`UserError` naming the valid ones."""
    by_name = {c.name: c for c in checks}
    for name in settings:
        if name not in by_name:
            raise unknown_name("check", name, by_name)
    out = []
    for c in checks:
        changes = dict(settings.get(c.name, {}))
        params = dict(c.params)
        for key in list(changes):
            if key in ("points", "timeout_s"):
                value = changes[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or (
                        key == "timeout_s" and value == 0):
                    raise UserError(f"{c.name}.{key} must be a {'positive' if key == 'timeout_s' else 'non-negative'} "
                                    f"number, got {value!r}.")
                continue
            if key not in params:
                valid = ", ".join(["points", "timeout_s", *params])
                raise UserError(f"check {c.name!r} has no setting {key!r}; valid settings: {valid}.")
            params[key] = changes.pop(key)
        out.append(replace(c, params=params, **{k: float(v) for k, v in changes.items()}))
    return out


def parse_settings(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["pets_cartpole.steps=1500", "delta_targets.points=3"]`` -> ``{"pets_cartpole": {"steps":
    1500}, ...}``, values read as YAML (numbers, booleans, lists, mappings)."""
    from mbrl_zoo.config import parse_dotted

    return parse_dotted(list(items), "CHECK.KEY=VALUE (e.g. pets_cartpole.steps=1500 or delta_targets.points=3)")


# --- helpers for check functions -------------------------------------------------------------


def need(submission: ModuleType, name: str) -> Any:
    """The attribute ``name`` of the submitted module, or a :class:`CheckFailed` saying it is missing."""
    if not hasattr(submission, name):
        defined = sorted(n for n, v in vars(submission).items()
                         if not n.startswith("_") and getattr(v, "__module__", None) == submission.__name__)
        raise CheckFailed(f"{Path(submission.__file__).name} defines no {name!r} (the starter file has it; "
                          f"found: {', '.join(defined) or 'nothing'}).")
    return getattr(submission, name)


def expect(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition``."""
    if not condition:
        raise CheckFailed(message)


def expect_tensor(value: Any, shape: tuple[int, ...], what: str, dtype: Any = None, finite: bool = True) -> Any:
    """``value`` if it is a tensor of ``shape`` (and ``dtype``), with only finite values when
    ``finite``; else :class:`CheckFailed` naming ``what`` and what was expected."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"{what} returned a {type(value).__name__}; expected a torch.Tensor of shape {shape}.")
    if tuple(value.shape) != tuple(shape):
        raise CheckFailed(f"{what} returned shape {tuple(value.shape)}; expected {tuple(shape)}.")
    if dtype is not None and value.dtype != dtype:
        raise CheckFailed(f"{what} returned dtype {value.dtype}; expected {dtype}.")
    if finite and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise CheckFailed(f"{what} returned NaN or inf values.")
    return value


def expect_close(actual: Any, expected: Any, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """:class:`CheckFailed` unless tensors ``actual`` and ``expected`` agree within tolerance."""
    import torch

    actual = expect_tensor(actual, tuple(expected.shape), what, finite=False)
    if not torch.allclose(actual.double(), expected.double(), atol=atol, rtol=rtol, equal_nan=False):
        worst = (actual.double() - expected.double()).abs().nan_to_num(float("inf")).max().item()
        raise CheckFailed(f"{what} is off by up to {worst:.3g} (tolerance {atol:g} + {rtol:g} x |expected|).")


# --- running checks --------------------------------------------------------------------------


def grade(submission: Path, checks: Sequence[Check], *, name: str | None = None, workers: int = 1,
          threads: int = 1, quick: bool = False) -> Report:
    """Run ``checks`` on the file ``submission`` and return its :class:`Report`; with ``quick``
    the slow (end-to-end) checks are skipped. ``workers`` checks run at once, each with
    ``threads`` torch threads."""
    return grade_all([submission], checks, names=[name] if name else None, workers=workers, threads=threads,
                     quick=quick)[0]


def grade_all(submissions: Sequence[Path], checks: Sequence[Check], *, names: Sequence[str] | None = None,
              workers: int = 1, threads: int = 1, quick: bool = False,
              progress: Callable[[str, CheckResult], None] | None = None) -> list[Report]:
    """:func:`grade` for several submissions, ``workers`` checks at a time over all of them;
    ``progress(submission name, result)`` is called as each check ends.

    Each submission is first imported once on its own (within :data:`IMPORT_TIMEOUT_S`): one that
    does not import fails every check at once with the reason, instead of each check waiting out
    its own time limit on it."""
    names = list(names) if names else [Path(p).name for p in submissions]
    reports = [Report(n, Path(p)) for n, p in zip(names, submissions)]
    run = [c for c in checks if not (quick and c.slow)]
    for report in reports:
        report.skipped = [c for c in checks if c not in run]
    importing = Check("import", 0.0, IMPORT_TIMEOUT_S, False, False, {}, "", Path(), "")

    def imports(report: Report) -> str | None:
        result = run_check(importing, report.path, threads=threads)
        if result.passed:
            return None
        if result.message.startswith("stopped at its time limit"):
            return f"{report.path.name} did not finish importing within {IMPORT_TIMEOUT_S:g} s"
        return result.message

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        failures = list(pool.map(imports, reports))
        jobs = [(report, c) for report, failure in zip(reports, failures) if failure is None for c in run]
        results = list(pool.map(lambda job: _run_and_tell(job[0], job[1], threads, progress), jobs))
    for report, failure in zip(reports, failures):
        if failure is not None:
            report.results = [CheckResult(c, False, failure, "", 0.0) for c in run]
    for (report, _), result in zip(jobs, results):
        report.results.append(result)
    return reports


def _run_and_tell(report: Report, c: Check, threads: int,
                  progress: Callable[[str, CheckResult], None] | None) -> CheckResult:
    result = run_check(c, report.path, threads=threads)
    if progress is not None:
        progress(report.name, result)
    return result


def run_check(c: Check, submission: Path, threads: int = 1, max_output: int = MAX_OUTPUT_BYTES) -> CheckResult:
    """Run one check on ``submission`` in its own process group, within ``c.timeout_s``."""
    ctx = _context()
    out_read, out_write = ctx.Pipe(duplex=False)
    result_read, result_write = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(str(c.path), c.function_name, dict(c.params), str(submission),
                                               threads, out_write, result_write))
    process.start()
    start = time.monotonic()
    out_write.close()
    result_write.close()
    output = _OutputReader(out_read, max_output)
    verdict, reason = None, None
    deadline = start + c.timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            reason = f"stopped at its time limit of {c.timeout_s:g} s (an endless loop, or far too slow)"
            break
        if result_read.poll(min(left, 0.1)):
            try:
                verdict = result_read.recv()
            except (EOFError, OSError):
                reason = None
            break
        if output.flooded.is_set():
            break
    seconds = time.monotonic() - start
    _kill_group(process)
    output.join(timeout=5)
    result_read.close()
    if output.flooded.is_set():
        verdict, reason = None, (f"printed more than {max_output / 2**20:g} MiB of output; remove the prints "
                                 "from the code that the checks call")
    elif reason is None and verdict is None:
        reason = _death_reason(process.exitcode)
    if verdict is None:
        return CheckResult(c, False, reason, output.text(), seconds)
    return CheckResult(c, bool(verdict["passed"]), verdict["message"], output.text(), seconds)


def _death_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the check's process died of {name} (a crash in native code, or killed)"
    return f"the check's process exited with code {code} before reporting (os._exit in the submission?)"


_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


def _context():
    """The forkserver context whose server has imported the zoo (on platforms without fork,
    the spawn context: slower to start each check, same isolation)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                _CONTEXT = multiprocessing.get_context("forkserver")
                _CONTEXT.set_forkserver_preload(["mbrl_zoo.app", "mbrl_zoo.app.grade"])
                from multiprocessing import forkserver

                forkserver.ensure_running()  # its imports take seconds: not on the first check's clock
            else:
                _CONTEXT = multiprocessing.get_context("spawn")
        return _CONTEXT


class _OutputReader(threading.Thread):
    """Drains a check's stdout/stderr pipe: keeps the first :data:`OUTPUT_EXCERPT` characters,
    counts the rest and sets ``flooded`` past ``limit`` bytes."""

    def __init__(self, connection: Any, limit: int):
        super().__init__(daemon=True)
        self.connection, self.limit = connection, limit
        self.kept, self.total = bytearray(), 0
        self.flooded = threading.Event()
        self.start()

    def run(self) -> None:
        fd = self.connection.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            if len(self.kept) < OUTPUT_EXCERPT * 4:
                self.kept += chunk[: OUTPUT_EXCERPT * 4 - len(self.kept)]
            if self.total > self.limit:
                self.flooded.set()
        self.connection.close()

    def text(self) -> str:
        text = self.kept.decode("utf-8", errors="replace")
        if len(text) > OUTPUT_EXCERPT or self.total > len(self.kept):
            return text[:OUTPUT_EXCERPT] + f"\n... [output truncated: {self.total:,} bytes in all]"
        return text


def _kill_group(process: Any) -> None:
    """SIGKILL the check's process group (the check and anything it started), then reap it."""
    if process.pid is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone, or was never made (killed before setsid): kill the process
        if process.is_alive():
            process.kill()
    process.join(timeout=10)


def _child(checks_path: str, function_name: str, params: dict, submission: str, threads: int,
           out_connection: Any, result_connection: Any) -> None:
    """Body of a check's process: own process group, output to the grader's pipe, one thread
    count, fixed seeds; import the submission and the check, run it, send the verdict."""
    os.setsid()
    fd = out_connection.fileno()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    out_connection.close()
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), errors="replace", line_buffering=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), errors="replace", line_buffering=True)
    sys.stdin = open(os.devnull)
    import torch

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(0)
    path = Path(submission)
    try:
        module = load_submission(path)
        note = None
        if function_name:  # none: only the import is tried
            fn = getattr(_import_path(Path(checks_path), f"mbrl_zoo_checks_{os.getpid()}"), function_name)
            note = fn(module, **params)
        verdict = {"passed": True, "message": "" if note is None else str(note)}
    except BaseException as exc:  # the submission may fail in any way: report it, never raise
        verdict = {"passed": False, "message": describe_failure(exc, path, Path(checks_path))}
    verdict["message"] = _one_line(verdict["message"], 2000)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    result_connection.send(verdict)
    result_connection.close()
    os._exit(0)  # no atexit handlers or thread joins of the submission's making


def load_submission(path: Path) -> ModuleType:
    """Import the submitted file ``path`` as a module named after it; a file that does not import
    raises :class:`CheckFailed` naming the line and the error."""
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else "submission"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CheckFailed(f"{path.name} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise CheckFailed(f"{path.name} does not import: line {exc.lineno}: SyntaxError: {exc.msg}") from None
    except BaseException as exc:
        raise CheckFailed(f"{path.name} does not import: {describe_failure(exc, path, None)}") from None
    return module


def describe_failure(exc: BaseException, submission: Path, checks: Path | None) -> str:
    """One line on why a check failed: a check's own verdict as it is; an error raised in the
    submission with its type, message and the submission's line that raised it."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if Path(f.filename).resolve() == submission.resolve()]
    if isinstance(exc, AssertionError) and not inside and checks is not None:
        return str(exc) or "an assertion of the check failed"
    if isinstance(exc, NotImplementedError):
        return f"NotImplementedError: {exc}" if str(exc) else "NotImplementedError (a function is not written yet)"
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, SystemExit):
        return f"the submission called sys.exit({exc.code!r})"
    text = f"{type(exc).__name__}: {exc}".strip().removesuffix(":")
    if inside:
        return f"{text} ({submission.name}, line {inside[-1].lineno}, in {inside[-1].name})"
    if frames:
        return f"{text} ({Path(frames[-1].filename).name}, line {frames[-1].lineno})"
    return text


def _import_path(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- reports ---------------------------------------------------------------------------------


def format_table(report: Report) -> str:
    """A table of ``report``: each check's points, seconds and, on failure, the reason."""
    width = max([len(r.check.name) + 9 for r in report.results] + [12])
    lines = [f"{report.name}: {_points(report.score)} / {_points(report.max_score)} points",
             f"  {'check':<{width}}  {'points':>9}  {'seconds':>7}  result"]
    for r in report.results:
        label = r.check.name + (" (hidden)" if r.check.hidden else "")
        verdict = "ok" + (f": {r.message}" if r.message else "") if r.passed else f"FAILED: {r.message}"
        lines.append(f"  {label:<{width}}  {_points(r.score) + '/' + _points(r.check.points):>9}  "
                     f"{r.seconds:7.1f}  {_one_line(verdict, 300)}")
    if report.skipped:
        lines.append(f"  skipped (--quick): {', '.join(c.name for c in report.skipped)}")
    return "\n".join(lines)


def gradescope_results(report: Report, hidden_visibility: str = HIDDEN_VISIBILITY) -> dict[str, Any]:
    """``results.json`` of Gradescope's autograder specification for one submission: ``score``
    and one test per check (name, score, max_score, output, visibility; hidden checks get
    ``hidden_visibility``)."""
    tests = []
    for r in report.results:
        output = ("passed" + (f": {r.message}" if r.message else "")) if r.passed else f"failed: {r.message}"
        if r.output.strip():
            output += f"\n\nprinted output:\n{r.output}"
        tests.append({"name": r.check.name + (" (hidden)" if r.check.hidden else ""), "score": r.score,
                      "max_score": r.check.points, "output": output,
                      "visibility": hidden_visibility if r.check.hidden else "visible"})
    return {"score": report.score, "execution_time": round(sum(r.seconds for r in report.results), 1),
            "output": f"{_points(report.score)} / {_points(report.max_score)} points", "tests": tests}


def grades_csv(reports: Iterable[Report]) -> str:
    """CSV text, one row per submission: its name, score, maximum, then the points of each check."""
    reports = list(reports)
    names = [r.check.name for r in reports[0].results] if reports else []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *names])
    for report in reports:
        points = {r.check.name: r.score for r in report.results}
        writer.writerow([report.name, _points(report.score), _points(report.max_score),
                         *(_points(points[n]) for n in names)])
    return text.getvalue()


def _points(value: float) -> str:
    return f"{value:g}"


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_public_checks(checks_file: str, student_file: str, argv: Sequence[str] | None = None) -> int:
    """``python public_checks.py [FILE] [--quick]`` in a student pack: run the checks of
    ``checks_file`` on ``FILE`` (default ``student_file`` beside it) and print the table.
    Returns 0 when every check passed, 1 when one failed, 2 when ``FILE`` does not exist."""
    import argparse

    here = Path(checks_file).resolve().parent
    parser = argparse.ArgumentParser(description=f"Run the public checks on your {student_file}.")
    parser.add_argument("file", nargs="?", default=str(here / student_file), help=f"default: {student_file} here")
    parser.add_argument("--quick", action="store_true", help="skip the end-to-end checks (minutes each)")
    parser.add_argument("--workers", type=int, default=1, help="checks run at once (default 1)")
    args = parser.parse_args(argv)
    submission = Path(args.file)
    if not submission.is_file():
        print(f"error: {args.file!r} is not a file; give the path of your {student_file}.", file=sys.stderr)
        return 2
    checks = load_checks(Path(checks_file).resolve(), hidden=False)
    report = grade(submission, checks, workers=args.workers, quick=args.quick)
    print(format_table(report))
    return 0 if all(r.passed for r in report.results) else 1
