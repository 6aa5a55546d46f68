"""The allow-list of equivalent mutants matches a mutant by its file and the code it changes."""

from __future__ import annotations

import pytest

from . import run_mutation
from .run_mutation import Mutant, classify, read_allow_list

PATH = "wrapper/bird_flashcalls/_retry.py"
LINE = '        return float(value) if value != float("inf") else None'
MUTATED = '        return float(value) if value != float("INF") else None'
ENTRY = f'{PATH} | != float("inf") else -> != float("INF") else | float() reads "INF" too'


def survivor(line: int, before: str = LINE, after: str = MUTATED, path: str = PATH) -> Mutant:
    return Mutant("bird_flashcalls._retry.x_f__mutmut_1", "survived", path, line, [before], [after])


@pytest.mark.parametrize("line", [10, 51, 400])
def test_an_entry_holds_wherever_its_line_moves(line: int) -> None:
    allowed = read_allow_list(ENTRY)
    mutant = survivor(line)

    classify([mutant], allowed)

    assert mutant.kind == "equivalent"
    assert allowed[0].used


def test_the_same_change_of_other_code_or_another_file_or_a_killed_one_is_not_excused() -> None:
    other_code = survivor(51, LINE.replace("else", "or"), MUTATED.replace("else", "or"))
    other_file = survivor(51, path="wrapper/bird_flashcalls/_rules.py")
    killed = survivor(51)
    killed.status = "killed"
    allowed = read_allow_list(ENTRY)

    classify([other_code, other_file, killed], allowed)

    assert [other_code.kind, other_file.kind, killed.kind] == ["survived", "survived", "killed"]
    assert not allowed[0].used


@pytest.mark.parametrize(
    "text",
    [
        f"{PATH}:51 | x -> y",  # no reason
        f"{PATH} | x | y",  # no change
        f"{ENTRY}\n{ENTRY}",  # twice
    ],
)
def test_a_malformed_or_repeated_entry_stops_the_run(text: str) -> None:
    with pytest.raises(SystemExit):
        read_allow_list(text)


def test_the_stored_list_reads_and_names_no_line_numbers() -> None:
    allowed = read_allow_list(run_mutation.EQUIVALENT.read_text())

    assert allowed
    assert all(entry.path.endswith(".py") for entry in allowed)
