"""Course assignments as instructors and students use them: the reference solutions score full
marks, typical broken submissions lose exactly the points of the checks aimed at their mistake,
the starter files fail with messages that name the function to write, the pack's README commands
work, and the handout notebooks run. Every test runs over every assignment folder."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fixtures import broken_submissions
from mbrl_zoo.app import assignments, grade
from mbrl_zoo.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = assignments.assignments()
IDS = [a.slug for a in ASSIGNMENTS]


def _failed(report):
    return {r.check.name: r.message for r in report.results if not r.passed}


def test_the_assignments_are_listed(capsys):
    assert [(a.number, a.student_file) for a in ASSIGNMENTS] == [
        (1, "dynamics.py"), (2, "planning.py"), (3, "rollouts.py"), (4, "dagger.py")]
    assert main(["assignment", "list"]) == 0
    out = capsys.readouterr().out
    assert "1  Dynamics models: dynamics.py, 10 checks (3 hidden), 25 points" in out
    assert "3  Dyna/MBPO model rollouts: rollouts.py" in out
    assert "4  DAgger-style model learning: dagger.py, 15 checks (6 hidden), 30 points" in out


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_each_assignment_has_checks_of_every_kind(assignment):
    checks = assignment.checks()
    assert len({c.name for c in checks}) == len(checks)
    assert [c for c in checks if c.slow and not c.hidden], "one end-to-end check the student can run"
    assert [c for c in checks if c.hidden] and [c for c in checks if not c.slow and not c.hidden]
    assert all(c.points > 0 and c.timeout_s > 0 and c.summary.endswith(".") for c in checks)
    assert [c.name for c in assignment.checks(public_only=True)] == [c.name for c in checks if not c.hidden]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_reference_solution_passes_every_quick_check(assignment):
    report = grade.grade(assignment.solution, assignment.checks(), quick=True, workers=2)
    assert _failed(report) == {}
    assert report.score == report.max_score > 0
    assert report.skipped == [c for c in assignment.checks() if c.slow]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_reference_solution_scores_full_marks(assignment):
    report = grade.grade(assignment.solution, assignment.checks())
    assert _failed(report) == {}
    assert report.score == sum(c.points for c in assignment.checks())


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_broken_submissions_lose_exactly_the_points_of_their_checks(assignment, tmp_path):
    fixtures = getattr(broken_submissions, f"A{assignment.number}")
    assert len(fixtures) >= 5
    checks = assignment.checks()
    names = {c.name for c in checks}
    for index, fixture in enumerate(fixtures):
        assert fixture.fails <= names and fixture.slow_fails <= names, fixture.name
        path = fixture.write(assignment.solution, tmp_path / str(index))
        report = grade.grade(path, grade.override(checks, fixture.settings), quick=True, workers=2)
        assert set(_failed(report)) == set(fixture.fails), (fixture.name, _failed(report))
        lost = sum(c.points for c in checks if c.name in fixture.fails)
        assert report.score == report.max_score - lost, fixture.name
        for result in report.results:
            if fixture.settings.get(result.check.name, {}).get("timeout_s"):
                assert "time limit" in result.message and result.seconds < result.check.timeout_s + 3


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_broken_submissions_pass_or_fail_the_end_to_end_checks_as_stated(assignment, tmp_path):
    """Every broken submission through the end-to-end checks (two at a time: 10-20 minutes per
    assignment on a 2-core machine)."""
    fixtures = getattr(broken_submissions, f"A{assignment.number}")
    slow = [c for c in assignment.checks() if c.slow]
    assert not [f for f in fixtures if set(f.settings) & {c.name for c in slow}]
    paths = [f.write(assignment.solution, tmp_path / str(i)) for i, f in enumerate(fixtures)]
    reports = grade.grade_all(paths, slow, names=[f.name for f in fixtures], workers=2)
    assert {r.name: set(_failed(r)) for r in reports} == {f.name: set(f.slow_fails) for f in fixtures}


def test_the_zoo_s_own_rollout_functions_are_a_full_marks_submission_of_assignment_3(tmp_path):
    path = tmp_path / "rollouts.py"
    path.write_text("from algorithms.model_rollouts import branched_rollouts, mixed_batch, rollout_length  # noqa\n")
    report = grade.grade(path, assignments.get(3).checks(), quick=True, workers=2)
    assert _failed(report) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_starter_file_fails_every_check_naming_the_function_to_write(assignment, tmp_path):
    assert main(["assignment", "make", str(assignment.number), "--out", str(tmp_path / "pack")]) == 0
    starter = tmp_path / "pack" / assignment.student_file
    source = starter.read_text()
    assert "### BEGIN SOLUTION" not in source and "NotImplementedError(\"write " in source
    report = grade.grade(starter, assignment.checks(), quick=True, workers=2)
    failed = _failed(report)
    assert set(failed) == {r.check.name for r in report.results}
    defined = set(re.findall(r"^\s*def (\w+)", source, re.MULTILINE)) | set(re.findall(r"^class (\w+)", source, re.M))
    for message in failed.values():
        written = re.search(r"NotImplementedError: write (\w+)(?:\.(\w+))?: ", message)
        assert written and {n for n in written.groups() if n} <= defined, message


def _commands(readme: str, marker: str) -> list[str]:
    block = readme.split(f"<!-- {marker} -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _student_run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """A README command as the student types it, with ``.venv/bin/`` meaning this Python's venv."""
    command = command.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    # One OpenMP thread, as the grader gives each check: on a machine shared with other work, two
    # spinning threads per run slowed a PETS run five-fold.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUJOCO_GL": "disable", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_pack_readme_commands_work_as_a_student_runs_them(tmp_path):
    assert main(["assignment", "make", "1", "--out", str(tmp_path / "hw1")]) == 0
    pack = tmp_path / "hw1"
    assert sorted(p.name for p in pack.iterdir()) == ["README.md", "dynamics.py", "handout.ipynb", "public_checks.py"]
    readme = (pack / "README.md").read_text()
    assert "{{" not in readme and f'pip install -q "{ROOT}"' in readme
    quick = _commands(readme, "student-commands")[0]
    assert quick == ".venv/bin/python public_checks.py --quick"
    starter = _student_run(quick, pack)
    assert starter.returncode == 1, starter.stderr
    assert "NotImplementedError: write delta_targets: Return what a delta-state model" in starter.stdout
    assert "(hidden)" not in starter.stdout and "0 / 12 points" in starter.stdout
    shutil.copyfile(assignments.get(1).solution, pack / "dynamics.py")
    solved = _student_run(quick, pack)
    assert solved.returncode == 0 and "12 / 12 points" in solved.stdout, solved.stdout + solved.stderr
    assert "skipped (--quick): pets_cartpole" in solved.stdout


class _Installed:
    """An installed mbrl-zoo distribution as importlib.metadata shows it."""

    version = "0.1.0"

    def __init__(self, direct_url):
        self.direct_url = direct_url

    def read_text(self, name):
        return json.dumps(self.direct_url) if name == "direct_url.json" and self.direct_url else None


@pytest.mark.parametrize("direct_url, expected", [
    ({"url": "file:///home/me/mbrl%20zoo", "dir_info": {}}, "/home/me/mbrl zoo"),
    ({"url": "https://example.edu/mbrl-zoo.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     "git+https://example.edu/mbrl-zoo.git@abc123"),
    ({"url": "https://example.edu/mbrl_zoo-0.1.0.tar.gz", "archive_info": {}}, "https://example.edu/mbrl_zoo-0.1.0.tar.gz"),
    (None, "mbrl-zoo==0.1.0"),
])
def test_an_installed_zoo_s_pack_installs_the_zoo_from_where_it_came(direct_url, expected, tmp_path, monkeypatch):
    from importlib import metadata

    monkeypatch.setattr(metadata, "distribution", lambda name: _Installed(direct_url))
    # site-packages/mbrl_zoo/app/assignments: no setup.cfg above it, unlike a checkout.
    installed = tmp_path / "site-packages" / "mbrl_zoo" / "app" / "assignments"
    assert assignments.default_zoo_source(installed) == expected


def test_a_checkout_s_pack_installs_the_checkout():
    assert assignments.default_zoo_source() == str(ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_every_pack_readme_command_succeeds_with_the_reference_solution(assignment, tmp_path):
    pack = tmp_path / "pack"
    assignments.make_pack(assignment.number, pack)
    shutil.copyfile(assignment.solution, pack / assignment.student_file)
    for command in _commands((pack / "README.md").read_text(), "student-commands"):
        done = _student_run(command, pack)
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])


@pytest.mark.parametrize("argv, message", [
    (["grade", "9", "x.py"], "unknown assignment 9; valid assignments: 1 (Dynamics models), 2 (Planning), 3 ("),
    (["grade", "1", "no-such-file.py"], "submission 'no-such-file.py' does not exist"),
    (["assignment", "make", "7", "--out", "pack7"], "unknown assignment 7"),
    (["grade", "1", "{solution}", "{solution}", "--json", "r.json"], "--json writes one submission's Gradescope"),
    (["grade", "1", "{solution}", "--set", "delta_target.points=3"], "unknown check 'delta_target'"),
    (["grade", "1", "{solution}", "--set", "delta_targets=3"], "is not of the form CHECK.KEY=VALUE"),
    (["grade", "one", "x.py"], "invalid int value: 'one'"),
])
def test_bad_input_exits_2_and_writes_nothing(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{solution}", str(assignments.get(1).solution)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own usage errors
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_make_refuses_a_folder_that_holds_files(tmp_path, capsys):
    (tmp_path / "hw1").mkdir()
    (tmp_path / "hw1" / "notes.txt").write_text("mine")
    assert main(["assignment", "make", "1", "--out", str(tmp_path / "hw1")]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "hw1").iterdir()] == ["notes.txt"]


def test_grade_writes_the_table_gradescope_json_and_csv(tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    shutil.copyfile(assignments.get(3).solution, subs / "alice" / "rollouts.py")
    assert main(["grade", "3", str(subs), "--quick", "--json", str(tmp_path / "results.json"),
                 "--csv", str(tmp_path / "grades.csv"), "--set", "mixed_batch.points=5"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("alice: 16 / 16 points") and "truncation_marks (hidden)" in captured.out
    assert "[1/7] alice rollout_length: ok (" in captured.err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 16 and len(results["tests"]) == 7
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0].startswith("submission,score,max_score,rollout_length,") and lines[1].startswith("alice,16,16,")


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=IDS)
def test_handout_notebook_runs_with_the_reference_solution(assignment, tmp_path, monkeypatch):
    monkeypatch.setenv("MBRL_ZOO_QUICK", "1")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    shutil.copyfile(assignment.solution, tmp_path / assignment.student_file)
    notebook = nbformat.read(assignment.handout, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert len([o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]) >= 2
    assert any(c.cell_type == "markdown" and "## Questions" in c.source for c in notebook.cells)


def test_plug_mixed_minibatch_hands_the_zoo_s_fit_minibatches_expert_first(monkeypatch):
    import importlib

    import torch

    from mbrl_zoo.app.assignments import support
    from mbrl_zoo.app.assignments.a4_dagger_model import dagger
    from mbrl_zoo.models.families import DeterministicMLP
    from mbrl_zoo.types import Batch

    fitting = importlib.import_module("mbrl_zoo.models.fit")
    monkeypatch.setattr(fitting, "mixed_minibatch", fitting.mixed_minibatch)  # put back after the test

    def rows(n, marker):
        obs = torch.full((n, 2), marker)
        return Batch(obs, torch.zeros(n, 1), obs, torch.zeros(n), torch.zeros(n, dtype=torch.bool),
                     torch.zeros(n, dtype=torch.bool))

    seen = []

    def spy(expert, learner, fraction, *rest):
        seen.append((float(expert.obs[0, 0]), float(learner.obs[0, 0]), fraction))
        batch = dagger.mixed_minibatch(expert, learner, fraction, *rest)
        seen.append(float(batch.obs[:, 0].mean()))
        return batch

    support.plug_mixed_minibatch(spy)
    fitting.fit(DeterministicMLP(2, 1, hidden=8, layers=1), rows(30, 0.0), other=rows(10, 1.0), other_share=0.25,
                epochs=1, batch_size=8, holdout_ratio=0.0, generator=torch.Generator().manual_seed(0))
    assert seen[0::2] == [(1.0, 0.0, 0.25)] * 5 and seen[1::2] == [0.25] * 5
