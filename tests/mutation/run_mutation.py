"""`make mutation`: mutmut over the decision modules, then tests/mutation/results.md.

mutmut names a module after its path less a leading ``src.`` and puts ``mutants/src`` first on
sys.path: it runs in build/mutation/, where ``src`` links to ``wrapper/`` (pyproject.toml's
``[tool.mutmut]`` copied there). A surviving mutant is wording (it only changes a prose string
literal: two words or more, no %-placeholder, no SQL), equivalent (in equivalent.txt, or only
changing the case of SQL text) or survived, a gap in the tests. A module's score is killed /
(mutants - wording - equivalent); exit status 1 when one is under 90% or all together under 95%.
``--report`` sorts the last run's results again."""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import importlib.metadata
import io
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "mutation"
RESULTS = ROOT / "tests" / "mutation" / "results.md"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.txt"
MUTMUT = Path(sys.executable).with_name("mutmut")
MODULE_TARGET = 0.90
OVERALL_TARGET = 0.95

# mutmut's statuses: a timeout or a crash (killed by a signal) ends the tests, as a failure does.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_KILLED = {"survived", "no tests", "suspicious"}

_LITERAL = re.compile(r"""[rRbBfFuU]{0,2}("[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*')""")
_PROSE = re.compile(r"[A-Za-z]+ [A-Za-z(]+")
_SQL = re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|WHERE|VALUES|PRAGMA)\b")
_SQL_STRING = re.compile(r"'[^']*'")
_NOT_PROSE = re.compile(r"%|" + _SQL.pattern)


@dataclass
class Mutant:
    name: str
    status: str
    path: str = ""  # relative to the repository
    line: int = 0
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    kind: str = ""  # killed, wording, equivalent, survived

    @property
    def module(self) -> str:
        return re.split(r"\.x(?:_|ǁ)", self.name, maxsplit=1)[0]

    @property
    def change(self) -> str:
        return compact_change(" ⏎ ".join(self.removed), " ⏎ ".join(self.added))


@dataclass
class Allowed:
    """An equivalent mutant, known by its file and the code it changes (not by its line)."""

    path: str
    change: str
    reason: str
    used: bool = False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="sort the last run's results again")
    report_only = parser.parse_args().report
    timing = WORK / "minutes.txt"
    if report_only and not timing.exists():
        print(f"no earlier run in {WORK.relative_to(ROOT)}: run `make mutation` first")
        return 2
    started = time.monotonic()
    if not report_only:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        shutil.copy2(ROOT / "pyproject.toml", WORK / "pyproject.toml")
    with source_links():
        if not report_only:
            log = WORK / "mutmut.log"
            print(f"mutmut run in {WORK.relative_to(ROOT)} (its output: {log.relative_to(ROOT)})")
            # One worker more than cores: a worker waiting on its SQLite file leaves a core idle.
            workers = f"--max-children={(os.cpu_count() or 1) + 1}"
            with log.open("w") as output:
                run = subprocess.run(
                    [MUTMUT, "run", workers], cwd=WORK, stdout=output, stderr=output
                )
            if run.returncode != 0:
                print(log.read_text(errors="replace")[-3000:])
                print(f"mutmut run failed (exit status {run.returncode})")
                return 1
        mutants = read_results()
        locate(mutants)
    allowed = read_allow_list(EQUIVALENT.read_text())
    classify(mutants, allowed)
    if report_only:
        minutes = float(timing.read_text())
    else:
        minutes = (time.monotonic() - started) / 60
        timing.write_text(f"{minutes:.2f}")
    report, met = render(mutants, allowed, minutes)
    RESULTS.write_text(report)
    print(report.split("\n## Survivors")[0])
    print(f"wrote {RESULTS.relative_to(ROOT)}; {minutes:.1f} min")
    return 0 if met else 1


@contextlib.contextmanager
def source_links() -> Iterator[None]:
    """src -> wrapper/ and tests -> tests/ while mutmut runs or reads its results, removed after:
    hatchling follows links, and skips the files of the tree it first reached through build/."""
    links = {WORK / "src": Path("..", "..", "wrapper"), WORK / "tests": Path("..", "..", "tests")}
    for link, target in links.items():
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    try:
        yield
    finally:
        for link in links:
            link.unlink(missing_ok=True)


def read_results() -> list[Mutant]:
    listing = subprocess.run(
        [MUTMUT, "results", "--all", "true"], cwd=WORK, capture_output=True, text=True, check=True
    )
    mutants = []
    for line in listing.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            mutants.append(Mutant(name, status))
    unchecked = [m.name for m in mutants if m.status not in KILLED | NOT_KILLED]
    if unchecked:
        raise SystemExit(f"{len(unchecked)} mutants were not run, e.g. {unchecked[:3]}")
    return mutants


def locate(mutants: list[Mutant]) -> None:
    """The file, line and change of each mutant that was not killed, from ``mutmut show``."""
    os.chdir(WORK)  # mutmut reads its configuration and results from the working directory
    from mutmut.__main__ import cli

    for mutant in mutants:
        if mutant.status in KILLED:
            continue
        shown = io.StringIO()
        with contextlib.redirect_stdout(shown), contextlib.suppress(SystemExit):
            cli(["show", mutant.name], standalone_mode=False)
        diff = shown.getvalue().splitlines()
        mutant.removed = [d[1:] for d in diff if d.startswith("-") and not d.startswith("---")]
        mutant.added = [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")]
        mutant.path = module_path(mutant.module)
        mutant.line = source_line(mutant, diff)
    os.chdir(ROOT)


def source_line(mutant: Mutant, diff: list[str]) -> int:
    """The line of the source file that the mutation changes: the line of its function equal
    to the first changed one nearest to where the diff's hunk puts it."""
    source = (ROOT / mutant.path).read_text()
    lines = source.splitlines()
    # mutmut's key of the function: x_function, or xǁClassǁmethod
    *class_name, function_name = mutant.name.rsplit(".", 1)[1].split("__mutmut_")[0][2:].split("ǁ")
    start, end = 1, len(lines)
    scope: list[ast.stmt] = ast.parse(source).body
    for node in scope:
        if class_name and isinstance(node, ast.ClassDef) and node.name == class_name[0]:
            scope = node.body
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function_name:
            start, end = node.lineno, node.end_lineno or node.lineno
    hunk = next(number for number, d in enumerate(diff) if d.startswith("@@"))
    offset = next(
        (i for i, d in enumerate(diff[hunk + 1 :]) if d[:1] in "-+" and not d.startswith("---")), 0
    )
    guess = start + int(re.findall(r"-(\d+)", diff[hunk])[0]) - 1 + offset
    wanted = (mutant.removed or mutant.added or [""])[0].strip()
    candidates = [n for n in range(start, end + 1) if lines[n - 1].strip() == wanted]
    return min(candidates, key=lambda n: abs(n - guess), default=guess)


def compact_change(before: str, after: str) -> str:
    """``before -> after`` cut to the words that differ, for one line of the report."""
    before, after = " ".join(before.split()), " ".join(after.split())
    prefix = _common_start(before, after)
    suffix = _common_start(before[prefix:][::-1], after[prefix:][::-1])
    # Widen to whole words, and one word more on each side for context.
    left = prefix
    for _ in range(2):
        left = max(before.rfind(" ", 0, max(left - 1, 0)) + 1, 0) if left else 0
    right_before, right_after = len(before) - suffix, len(after) - suffix
    for _ in range(2):
        found = before.find(" ", right_before + 1)
        if found == -1:
            right_before, right_after = len(before), len(after)
            break
        right_after += found - right_before
        right_before = found
    return f"{before[left:right_before]} -> {after[left:right_after]}".strip()


def _common_start(a: str, b: str) -> int:
    """How many characters ``a`` and ``b`` share at their start."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def changed_literal(mutant: Mutant) -> tuple[str, str] | None:
    """The string literal a mutation changes, before and after, when that is all it changes."""
    if len(mutant.removed) != 1 or len(mutant.added) != 1:
        return None
    before, after = mutant.removed[0], mutant.added[0]
    before_literals, after_literals = _LITERAL.findall(before), _LITERAL.findall(after)
    same_code = _LITERAL.split(before)[::2] == _LITERAL.split(after)[::2]
    if not same_code or len(before_literals) != len(after_literals):
        return None
    changed = [
        (old, new) for old, new in zip(before_literals, after_literals, strict=True) if old != new
    ]
    return changed[0] if len(changed) == 1 else None


def is_wording(mutant: Mutant) -> bool:
    """Whether the mutation only changes a string literal of prose."""
    changed = changed_literal(mutant)
    return (
        changed is not None
        and bool(_PROSE.search(changed[0]))
        and not _NOT_PROSE.search(changed[0])
    )


def is_sql_case(mutant: Mutant) -> bool:
    """Whether the mutation only changes the case of SQL keywords, names or pragma values, which
    SQLite reads in any case (the case of a quoted SQL string must stay)."""
    changed = changed_literal(mutant)
    return (
        changed is not None
        and _SQL.search(changed[0]) is not None
        and changed[0].lower() == changed[1].lower()
        and _SQL_STRING.findall(changed[0]) == _SQL_STRING.findall(changed[1])
    )


def read_allow_list(text: str) -> list[Allowed]:
    allowed: dict[tuple[str, str], Allowed] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(" | ")]
        where = f"{EQUIVALENT.name}:{number}"
        if len(parts) != 3 or not all(parts) or " -> " not in parts[1]:
            raise SystemExit(f"{where}: expected 'path | change | reason', got {line!r}")
        path, change, reason = parts
        if (path, change) in allowed:
            raise SystemExit(f"{where}: {path} | {change} is listed twice")
        allowed[path, change] = Allowed(path, change, reason)
    return list(allowed.values())


def classify(mutants: list[Mutant], allowed: list[Allowed]) -> None:
    by_code = {(a.path, a.change): a for a in allowed}
    for mutant in mutants:
        if mutant.status in KILLED:
            mutant.kind = "killed"
            continue
        entry = by_code.get((mutant.path, mutant.change))
        if entry is not None:
            entry.used = True
            mutant.kind = "equivalent"
        elif mutant.status == "survived" and is_sql_case(mutant):
            mutant.kind = "equivalent"
        elif mutant.status == "survived" and is_wording(mutant):
            mutant.kind = "wording"
        else:
            mutant.kind = "survived"


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, mutmut {importlib.metadata.version('mutmut')}"
    )


def render(mutants: list[Mutant], allowed: list[Allowed], minutes: float) -> tuple[str, bool]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for mutant in mutants:
        counts[mutant.path or module_path(mutant.module)][mutant.kind] += 1
    total: Counter[str] = Counter()
    for count in counts.values():
        total.update(count)
    scores = {path: score(count) for path, count in counts.items()}
    met = all(s >= MODULE_TARGET for s in scores.values()) and score(total) >= OVERALL_TARGET
    rows = [
        row(path.removeprefix("wrapper/bird_flashcalls/"), counts[path]) for path in sorted(counts)
    ]
    survivors = sorted(
        (m for m in mutants if m.kind == "survived"), key=lambda m: (m.path, m.line, m.name)
    )
    stale = [a for a in allowed if not a.used]
    lines = [
        "# Mutation testing",
        "",
        "Written by `make mutation` (tests/mutation/run_mutation.py); how it works and why these",
        'modules are in README.md, "How we test", and at the end of this file.',
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- duration: {minutes:.1f} min, `make mutation` from start to end",
        f"- target: every module >= {MODULE_TARGET:.0%} and all together >= {OVERALL_TARGET:.0%} "
        f"of the mutants that are neither wording nor equivalent killed: "
        f"**{'met' if met else 'NOT met'}**",
        "",
        "| module | mutants | killed | wording | equivalent | survived | score |",
        "|---|---|---|---|---|---|---|",
        *rows,
        row("**total**", total),
        "",
        "## Survivors",
        "",
        *[f"- `{m.path}:{m.line}` `{m.change}` ({m.status})" for m in survivors],
    ]
    if not survivors:
        lines.append("None: every mutant that is not wording or equivalent was killed.")
    if stale:
        lines += [
            "",
            "## Allow-list entries that matched no survivor",
            "",
            "The code changed, or a test now kills the mutant: update tests/mutation/equivalent.txt.",
            "",
            *[f"- `{a.path}` `{a.change}`" for a in stale],
        ]
    lines += ["", ABOUT.strip(), ""]
    return "\n".join(lines), met


def module_path(module: str) -> str:
    return "wrapper/" + module.replace(".", "/") + ".py"


def score(count: Counter[str]) -> float:
    judged = count["killed"] + count["survived"]
    return count["killed"] / judged if judged else 1.0


def row(name: str, count: Counter[str]) -> str:
    return (
        f"| {name} | {sum(count.values())} | {count['killed']} | {count['wording']} "
        f"| {count['equivalent']} | {count['survived']} | {score(count):.1%} |"
    )


ABOUT = """
## What is mutated, and how

**Modules.** The ones that decide:

- `_retry.py` (whether and when to try again), `_rules.py` and `_numbers.py` (what a phone
  number, a UUID, a loopback host is; reading a number as a handset shows it), `_verify.py`
  (whether a received number or typed code verifies), `_responses.py` (which error a response
  becomes, what it says and keeps, the access key redacted), `_config.py` (which settings are
  accepted), `_requests.py` (what is sent), `_base_client.py` (`_conclude`: after each attempt,
  the result, an error or a retry), `_secret.py` (the key, never shown);
- `verification/_flow.py` (every decision of a verification session) and
  `verification/stores/memory.py`, which applies those decisions under a lock and decides the
  rest itself (rate-limit windows, what is due, what is forgotten).

Not mutated, to stay within 15 minutes on two cores: `verification/stores/sqlite.py` and
`redis.py` apply the same `_flow` decisions in a transaction or a Lua script (string constants
to mutmut); what is theirs alone (SQL, connections, Redis keys) is held by the store tests that
every store passes, and together they would add about a third to the run. `_client.py` only
sends, reads and sleeps (every decision after an attempt is `_conclude`'s). Nor `errors.py`,
`cli.py`, `testing/` (FakeBird), the verifiers' drivers (`_verifier.py`), or `_generated`
(written by the generator; a link that mutmut does not follow, copied unmutated by
`also_copy`).

**Tests.** `tests/unit` and `tests/verification`, sync only (the async client and verifier
drive the same decisions), on MemoryStore only, less the tests that run another interpreter
or pytest (a mutant lives in the test process only). Each mutant runs only the
tests that reach its function (recorded in a first run), fastest first, stopping at the first
failure, in a process forked from one that has run every test once. So a value memoized in
that run hides the code that made it: `_flow._check_result` keeps one CheckResult per
(status, attempts left), and the mutants of the lines that build it survive here although the
verification tests fail on them when they run (applied by hand, `CheckResult(status, None,
attempts_left)` fails the first test that verifies). They are counted as survivors, not
excused.

**Tool.** mutmut 3 rather than cosmic-ray: mutmut writes every mutant of a module into it once
and switches between them in forked test processes, so a mutant costs about a tenth of a second
plus its tests; cosmic-ray rewrites the file and starts the test command anew for each mutant
(seconds each), which for about 3,000 mutants does not fit in 15 minutes on two cores. mutmut's
`src/` convention is met by running it in build/mutation/, where `src` links to `wrapper/`.

**Not counted.** Message wording: prose string literals alone on a line are not mutated
(`do_not_mutate_patterns`), and a surviving mutant that only changes a prose literal elsewhere
counts as wording. The hints a user acts on are pinned by tests all the same (which error,
which field, which setting to check, how long to wait). Equivalent mutants are listed, each
with its reason, in tests/mutation/equivalent.txt; a change of case in SQL text is equivalent
by rule.
"""


if __name__ == "__main__":
    sys.exit(main())
