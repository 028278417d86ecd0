"""Course assignments built from the zoo's own pieces: discovery, solution stripping, student packs.

Each assignment is one folder here, ``a<N>_<name>/`` (see ``README.md`` beside this file):

* ``__init__.py``: ``TITLE`` and ``STUDENT_FILE`` (the file a student completes and hands in);
  its docstring's first line is the one-line summary ``mbrl-zoo assignment list`` shows.
* ``STUDENT_FILE`` (e.g. ``dynamics.py``): the reference solution, written as zoo code, with
  every part the student writes between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines
  (nbgrader's convention).
* ``public_checks.py``: the checks a student runs locally (copied into the pack);
  ``hidden_checks.py``: checks only the grader runs.
* ``handout.ipynb``: the handout notebook; ``README.md``: the pack's README, with ``{{name}}``
  placeholders filled in by :func:`make_pack`.

``mbrl-zoo assignment make N --out DIR`` writes the student pack: the student file with every
solution region replaced by ``raise NotImplementedError("write <function>: <what it must do>")``
(:func:`strip_solutions`), the public checks, the notebook and the README.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import first_sentence

HERE = Path(__file__).resolve().parent
FOLDER = re.compile(r"^a(\d+)_([a-z0-9_]+)$")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
PACK_FILES = ("public_checks.py", "handout.ipynb", "README.md")


@dataclass(frozen=True)
class Assignment:
    """One assignment folder: its number, title, the file students complete, and where things are."""

    number: int
    slug: str
    title: str
    summary: str
    student_file: str
    folder: Path

    @property
    def solution(self) -> Path:
        """The reference solution (with its solution regions marked)."""
        return self.folder / self.student_file

    @property
    def public_checks(self) -> Path:
        return self.folder / "public_checks.py"

    @property
    def hidden_checks(self) -> Path:
        return self.folder / "hidden_checks.py"

    @property
    def handout(self) -> Path:
        return self.folder / "handout.ipynb"

    def checks(self, public_only: bool = False):
        """The assignment's checks (:class:`mbrl_zoo.app.grade.Check`): public ones first."""
        from mbrl_zoo.app.grade import load_checks

        found = load_checks(self.public_checks, hidden=False)
        if not public_only and self.hidden_checks.is_file():
            found += load_checks(self.hidden_checks, hidden=True)
        return found


def assignments() -> list[Assignment]:
    """Every assignment folder below this package, by number."""
    found = []
    for folder in sorted(HERE.iterdir()):
        match = FOLDER.match(folder.name)
        if not match or not (folder / "__init__.py").is_file():
            continue
        meta = importlib.import_module(f"{__name__}.{folder.name}")
        summary = first_sentence(meta.__doc__ or "")
        found.append(Assignment(int(match.group(1)), folder.name, meta.TITLE, summary, meta.STUDENT_FILE, folder))
    return sorted(found, key=lambda a: a.number)


def get(number: int) -> Assignment:
    """Assignment ``number``; an unknown number raises :class:`UserError` listing the valid ones."""
    known = assignments()
    for assignment in known:
        if assignment.number == number:
            return assignment
    valid = ", ".join(f"{a.number} ({a.title})" for a in known) or "(none)"
    raise UserError(f"unknown assignment {number!r}; valid assignments: {valid}.")


def submissions(paths: list[str], student_file: str) -> list[tuple[str, Path]]:
    """(name, file) of each submission: a file stands for itself (named by its file name); a
    folder for the ``.py`` files directly in it (named by file name) and the ``student_file`` of
    each subfolder (named by the subfolder: one folder per student, as course sites download
    them). A path that does not exist, or a folder with no submission, raises :class:`UserError`."""
    found: list[tuple[str, Path]] = []
    for text in paths:
        path = Path(text)
        if path.is_file():
            found.append((path.name, path))
        elif path.is_dir():
            inside = [(p.name, p) for p in sorted(path.glob("*.py"))]
            inside += [(p.parent.name, p) for p in sorted(path.glob(f"*/{student_file}"))]
            if not inside:
                raise UserError(f"folder {text!r} holds no submission: no .py file and no */{student_file}.")
            found += inside
        else:
            raise UserError(f"submission {text!r} does not exist; give {student_file} files or folders of them.")
    names = [name for name, _ in found]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return [(str(p), p) for _, p in found]
    return found


def strip_solutions(source: str, filename: str = "<solution>") -> str:
    """``source`` with every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region (markers
    included) replaced by one ``raise NotImplementedError("write F: S")`` at the BEGIN line's
    indentation, F the enclosing function (``Class.method``) and S the first sentence of its
    docstring. Unbalanced or nested markers, or a region outside any function, raise ValueError."""
    tree = ast.parse(source, filename=filename)
    owners = _function_spans(tree)
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    open_at = None
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if open_at is not None:
                raise ValueError(f"{filename}:{number}: {BEGIN} inside the region opened at line {open_at}")
            open_at = number
            owner = _innermost(owners, number)
            if owner is None:
                raise ValueError(f"{filename}:{number}: a solution region must lie inside a function")
            indent = line[: len(line) - len(line.lstrip())]
            message = f"write {owner[0]}: {owner[1]}" if owner[1] else f"write {owner[0]}"
            out.append(f"{indent}raise NotImplementedError({json.dumps(message)})\n")
        elif marker == END:
            if open_at is None:
                raise ValueError(f"{filename}:{number}: {END} without a {BEGIN}")
            open_at = None
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise ValueError(f"{filename}:{open_at}: {BEGIN} is never closed")
    stripped = "".join(out)
    ast.parse(stripped, filename=filename)
    return stripped


def _function_spans(tree: ast.AST) -> list[tuple[int, int, str, str]]:
    """(first line, last line, qualified name, docstring's first sentence) of every function."""
    spans = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                spans.append((child.lineno, child.end_lineno, name, first_sentence(ast.get_docstring(child) or "")))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _innermost(spans: list[tuple[int, int, str, str]], line: int) -> tuple[str, str] | None:
    inside = [s for s in spans if s[0] <= line <= s[1]]
    if not inside:
        return None
    first, _, name, doc = max(inside, key=lambda s: s[0])
    return name, doc


def make_pack(number: int, out: str | Path, zoo_source: str | None = None) -> list[Path]:
    """Write assignment ``number``'s student pack into the new folder ``out``: the student file
    with its solutions stripped, the public checks, the handout notebook (outputs cleared) and
    the README. ``zoo_source`` is what students pass to ``pip install`` to get the zoo (default:
    :func:`default_zoo_source`). ``out`` must not exist or be empty; the pack appears whole or not at
    all. Returns the files written."""
    assignment = get(number)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {str(out)!r} already exists and is not an empty folder; name a new folder.")
    starter = strip_solutions(assignment.solution.read_text(), str(assignment.solution))
    readme = render_readme(assignment, zoo_source or default_zoo_source())
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / assignment.student_file).write_text(starter)
        shutil.copyfile(assignment.public_checks, staging / "public_checks.py")
        (staging / "handout.ipynb").write_text(_cleared_notebook(assignment.handout))
        (staging / "README.md").write_text(readme)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out / name for name in (assignment.student_file, *PACK_FILES)]


def default_zoo_source(package: Path = HERE) -> str:
    """What the pack's README tells students to ``pip install``: where this zoo came from.

    A source checkout (``package``, this folder, inside a folder with ``setup.cfg``: a clone, or
    an editable install) gives that folder. An installed copy gives what pip recorded it was installed from
    (PEP 610's ``direct_url.json``: a local folder, a ``git+URL@commit`` or an archive's URL);
    one installed from a package index, ``mbrl-zoo==VERSION``.
    """
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    checkout = package.parents[2]
    if (checkout / "setup.cfg").is_file() and (checkout / "mbrl_zoo").is_dir():
        return str(checkout)
    try:
        distribution = metadata.distribution("mbrl-zoo")
    except metadata.PackageNotFoundError:
        return str(checkout)
    recorded = distribution.read_text("direct_url.json")
    if not recorded:
        return f"mbrl-zoo=={distribution.version}"
    origin = json.loads(recorded)
    url = origin.get("url", "")
    if "vcs_info" in origin:
        return f"{origin['vcs_info']['vcs']}+{url}@{origin['vcs_info']['commit_id']}"
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return url


def render_readme(assignment: Assignment, zoo_source: str) -> str:
    """The pack's README: the folder's ``README.md`` with ``{{number}}``, ``{{title}}``,
    ``{{student_file}}`` and ``{{zoo_source}}`` filled in."""
    values = {"number": str(assignment.number), "title": assignment.title,
              "student_file": assignment.student_file, "zoo_source": zoo_source}
    text = (assignment.folder / "README.md").read_text()
    unknown = sorted(set(re.findall(r"\{\{(\w+)\}\}", text)) - set(values))
    if unknown:
        raise ValueError(f"{assignment.folder / 'README.md'}: unknown placeholders {unknown}; known: {sorted(values)}")
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def _cleared_notebook(path: Path) -> str:
    """The notebook at ``path`` as JSON text, with outputs and execution counts removed."""
    notebook = json.loads(path.read_text())
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
