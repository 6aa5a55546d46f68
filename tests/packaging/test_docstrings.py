"""Every public name of bird_flashcalls has a docstring: the API reference (make docs) is built
from them, so a name without one is a gap in the reference."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import pytest

PUBLIC_MODULES = (
    "bird_flashcalls",
    "bird_flashcalls.errors",
    "bird_flashcalls.testing",
    "bird_flashcalls.verification",
)


def public_objects() -> Iterator[tuple[str, object]]:
    """(dotted name, object) for each public module, its __all__, and their public members."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        yield module_name, module
        for name in module.__all__:
            if name.startswith("__"):
                continue  # __version__
            value = getattr(module, name)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            yield f"{module_name}.{name}", value
            if inspect.isclass(value):
                for member, raw in vars(value).items():
                    if member.startswith("_"):
                        continue
                    if callable(raw) or isinstance(raw, property | classmethod | staticmethod):
                        # getdoc: a method documented once in a base class counts.
                        yield f"{module_name}.{name}.{member}", getattr(value, member)


OBJECTS = dict(public_objects())


def test_the_check_sees_the_whole_surface() -> None:
    assert "bird_flashcalls.FlashCalls.create" in OBJECTS
    assert "bird_flashcalls.AsyncFlashCalls.verify_code" in OBJECTS
    assert "bird_flashcalls.verification.Verifier.check" in OBJECTS
    assert "bird_flashcalls.testing.FakeBird.fail_next" in OBJECTS
    assert len(OBJECTS) > 100


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_public_name_has_a_docstring(name: str) -> None:
    value = OBJECTS[name]
    # A class's own docstring (getdoc would take a base class's); a method's may come from
    # the base class that defines what it does.
    doc = value.__doc__ if inspect.isclass(value) else inspect.getdoc(value)
    assert doc and doc.strip(), f"{name} has no docstring"
