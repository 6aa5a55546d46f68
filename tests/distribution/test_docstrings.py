"""Every public name of bird_flashcalls has a docstring (make docs builds the API reference from
them), methods defined in private modules and re-exported included: ruff's D1 rules skip those."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

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
            value = getattr(module, name)
            if name.startswith("__") or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue  # __version__, constants
            yield f"{module_name}.{name}", value
            for member, raw in vars(value).items() if inspect.isclass(value) else ():
                if not member.startswith("_") and (
                    callable(raw) or isinstance(raw, property | classmethod | staticmethod)
                ):
                    yield f"{module_name}.{name}.{member}", getattr(value, member)


def test_every_public_name_has_a_docstring() -> None:
    objects = dict(public_objects())
    # The walk sees the whole surface, methods defined in private modules included.
    assert {
        "bird_flashcalls.FlashCalls.create",
        "bird_flashcalls.AsyncFlashCalls.verify_code",
        "bird_flashcalls.verification.Verifier.check",
        "bird_flashcalls.testing.FakeBird.fail_next",
    } <= objects.keys()
    assert len(objects) > 100
    # A class's own docstring (getdoc would take a base class's); a method's may come from the
    # base class that defines what it does.
    undocumented = [
        name
        for name, value in objects.items()
        if not ((value.__doc__ if inspect.isclass(value) else inspect.getdoc(value)) or "").strip()
    ]
    assert undocumented == []
