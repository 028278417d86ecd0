"""The autograder's machinery on small hand-written checks: every check in its own process, time
limits, crashes, floods of output and exits cost that check only; overrides, reports and the
solution stripping that makes starter files."""

import csv
import dataclasses
import io
import json
import textwrap
import time

import pytest

from mbrl_zoo.app import assignments, grade
from mbrl_zoo.errors import UserError

CHECKS = '''
import os, signal, subprocess, sys, time
from mbrl_zoo.app.grade import CheckFailed, check, need

@check(points=2)
def check_passes(submission):
    """The answer is 42."""
    assert need(submission, "answer")() == 42
    return "found 42"

@check(points=1)
def check_wrong(submission):
    """The answer is 43."""
    if submission.answer() != 43:
        raise CheckFailed(f"answer() returned {submission.answer()}; expected 43.")

@check(points=1, timeout_s=2)
def check_hangs(submission):
    """Calls a function that never returns, after starting a grandchild that sleeps."""
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    submission.spin()

@check(points=1)
def check_floods(submission):
    """Prints without end."""
    submission.chatter()

@check(points=1)
def check_dies(submission):
    """Kills its own process."""
    os.kill(os.getpid(), signal.SIGSEGV)

@check(points=1)
def check_exits(submission):
    """Calls the submission's sys.exit."""
    submission.leave()

@check(points=1)
def check_raises(submission):
    """Calls a function that raises."""
    submission.broken()

@check(points=1, slow=True, target=3)
def check_slow(submission, target):
    """An end-to-end check with a parameter."""
    assert submission.answer() > target, f"answer() is not above {target}"
'''

SUBMISSION = '''
import sys
def answer():
    print("computing the answer")
    return 42
def spin():
    while True:
        pass
def chatter():
    while True:
        print("x" * 1000)
def leave():
    sys.exit(3)
def broken():
    return {}["missing"]
'''


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checks")
    (folder / "checks.py").write_text(CHECKS)
    return grade.load_checks(folder / "checks.py", hidden=False)


@pytest.fixture
def submission(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text(SUBMISSION)
    return path


def test_checks_are_found_in_file_order_with_their_settings(checks):
    assert [c.name for c in checks] == ["passes", "wrong", "hangs", "floods", "dies", "exits", "raises", "slow"]
    assert checks[0].points == 2 and checks[0].summary == "The answer is 42." and not checks[0].hidden
    assert checks[2].timeout_s == 2 and checks[-1].slow and checks[-1].params == {"target": 3}


def test_each_failure_costs_its_check_only(checks, submission):
    start = time.monotonic()
    report = grade.grade(submission, checks, workers=2)
    by_name = {r.check.name: r for r in report.results}
    assert by_name["passes"].passed and by_name["passes"].message == "found 42"
    assert "computing the answer" in by_name["passes"].output
    assert by_name["wrong"].message == "answer() returned 42; expected 43."
    assert by_name["hangs"].message.startswith("stopped at its time limit of 2 s")
    assert 2 <= by_name["hangs"].seconds < 6
    assert "printed more than 1 MiB of output" in by_name["floods"].message
    assert by_name["floods"].output.endswith("bytes in all]") and len(by_name["floods"].output) < 2200
    assert "SIGSEGV" in by_name["dies"].message
    assert by_name["exits"].message == "the submission called sys.exit(3)"
    assert by_name["raises"].message == "KeyError: 'missing' (answer.py, line 15, in broken)"
    assert by_name["slow"].passed
    assert report.score == 3 and report.max_score == 9
    assert time.monotonic() - start < 30


def test_a_hanging_check_takes_its_grandchildren_with_it(checks, submission):
    import subprocess

    grade.run_check(checks[2], submission)
    sleepers = subprocess.run(["pgrep", "-f", "import time; time.sleep(600)"], capture_output=True, text=True)
    assert sleepers.stdout.strip() == ""


def test_quick_skips_slow_checks_and_overrides_change_points_and_parameters(checks, submission):
    changed = grade.override(checks, {"passes": {"points": 5}, "slow": {"target": 50, "timeout_s": 9}})
    assert changed[0].points == 5 and changed[-1].params == {"target": 50} and changed[-1].timeout_s == 9
    report = grade.grade(submission, [changed[0], changed[-1]], quick=True)
    assert [r.check.name for r in report.results] == ["passes"] and [c.name for c in report.skipped] == ["slow"]
    assert report.score == 5
    assert not grade.run_check(changed[-1], submission).passed


@pytest.mark.parametrize("settings, message", [
    ({"pases": {"points": 1}}, "unknown check 'pases'. Did you mean 'passes'?"),
    ({"slow": {"budget": 1}}, "check 'slow' has no setting 'budget'; valid settings: points, timeout_s, target."),
    ({"passes": {"points": -1}}, "passes.points must be a non-negative number, got -1."),
    ({"passes": {"timeout_s": 0}}, "passes.timeout_s must be a positive number, got 0."),
])
def test_bad_overrides_are_refused(checks, settings, message):
    with pytest.raises(UserError, match=message.replace(".", r"\.").replace("(", r"\(")):
        grade.override(checks, settings)


def test_a_submission_that_does_not_import_fails_every_check_with_the_line(checks, tmp_path):
    path = tmp_path / "answer.py"
    path.write_text("def answer(:\n    return 42\n")
    report = grade.grade(path, checks[:2])
    assert [r.message for r in report.results] == ["answer.py does not import: line 1: SyntaxError: invalid syntax"] * 2


def test_a_submission_that_hangs_on_import_fails_every_check_after_one_time_limit(checks, tmp_path, monkeypatch):
    monkeypatch.setattr(grade, "IMPORT_TIMEOUT_S", 2.0)
    path = tmp_path / "answer.py"
    path.write_text("while True:\n    pass\n")
    start = time.monotonic()
    report = grade.grade(path, checks)
    assert time.monotonic() - start < 10
    assert {r.message for r in report.results} == {"answer.py did not finish importing within 2 s"}
    assert len(report.results) == len(checks) and report.score == 0


def test_reports_gradescope_and_csv(checks, submission, tmp_path):
    public, hidden = checks[0], dataclasses.replace(checks[1], hidden=True)
    report = grade.grade(submission, [public, hidden], name="alice")
    table = grade.format_table(report)
    assert table.splitlines()[0] == "alice: 2 / 3 points"
    assert "wrong (hidden)" in table and "FAILED: answer() returned 42; expected 43." in table
    results = grade.gradescope_results(report)
    assert results["score"] == 2 and results["output"] == "2 / 3 points"
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in results["tests"]] == [
        ("passes", 2, 2, "visible"), ("wrong (hidden)", 0, 1, "after_published")]
    assert "computing the answer" in results["tests"][0]["output"]
    json.dumps(results)
    rows = list(csv.reader(io.StringIO(grade.grades_csv([report, report]))))
    assert rows == [["submission", "score", "max_score", "passes", "wrong"], ["alice", "2", "3", "2", "0"],
                    ["alice", "2", "3", "2", "0"]]


SOLUTION = textwrap.dedent('''
    import torch


    def double(x):
        """Return twice ``x``. More detail here."""
        ### BEGIN SOLUTION
        return 2 * x
        ### END SOLUTION


    class Model:
        def fit(self, data):
            """Set the statistics from ``data`` (N, D).

            The zoo calls it before training."""
            self.ready = True
            ### BEGIN SOLUTION
            self.mean = data.mean(0)
            ### END SOLUTION
''')


def test_strip_solutions_names_the_function_and_what_it_must_do():
    stripped = assignments.strip_solutions(SOLUTION)
    assert "BEGIN SOLUTION" not in stripped and "2 * x" not in stripped and "data.mean" not in stripped
    assert '    raise NotImplementedError("write double: Return twice ``x``.")\n' in stripped
    assert ('        raise NotImplementedError("write Model.fit: Set the statistics from ``data`` (N, D).")\n'
            in stripped)
    assert "self.ready = True" in stripped
    namespace = {}
    exec(compile(stripped, "<starter>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="write double: Return twice"):
        namespace["double"](1)


@pytest.mark.parametrize("source, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
     "<solution>:3: ### BEGIN SOLUTION inside the region opened at line 2"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "<solution>:3: ### END SOLUTION without a ### BEGIN SOLUTION"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "<solution>:2: ### BEGIN SOLUTION is never closed"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "<solution>:1: a solution region must lie inside a function"),
])
def test_strip_solutions_refuses_malformed_regions(source, message):
    with pytest.raises(ValueError, match=message):
        assignments.strip_solutions(source)


def test_submissions_expand_folders_and_refuse_what_is_missing(tmp_path):
    (tmp_path / "subs" / "bob").mkdir(parents=True)
    (tmp_path / "subs" / "alice.py").write_text("")
    (tmp_path / "subs" / "bob" / "dynamics.py").write_text("")
    (tmp_path / "subs" / "bob" / "notes.txt").write_text("")
    found = assignments.submissions([str(tmp_path / "subs")], "dynamics.py")
    assert [(name, path.relative_to(tmp_path).as_posix()) for name, path in found] == [
        ("alice.py", "subs/alice.py"), ("bob", "subs/bob/dynamics.py")]
    with pytest.raises(UserError, match="submission '.*nobody.py' does not exist"):
        assignments.submissions([str(tmp_path / "nobody.py")], "dynamics.py")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no submission"):
        assignments.submissions([str(tmp_path / "empty")], "dynamics.py")
