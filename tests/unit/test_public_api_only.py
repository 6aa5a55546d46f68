"""wrapper/ uses only the public API of httpx and httpcore: no import of httpcore or of a private
httpx name, no attribute private to them (also through getattr), no object built without its
constructor (``object.__new__``, an httpx class's ``__new__``, ``__dict__.update``)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import httpcore
import httpx
import pytest

WRAPPER = Path(__file__).resolve().parents[2] / "wrapper" / "bird_flashcalls"
SOURCES = sorted(WRAPPER.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _names_defined(files: list[Path]) -> set[str]:
    """Every private name a set of sources defines: functions, classes, attributes, variables."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
    return {name for name in names if _private(name)}


@cache
def dependency_private_names() -> frozenset[str]:
    files = [
        path
        for package in (httpx, httpcore)
        for path in Path(package.__file__).parent.rglob("*.py")  # type: ignore[arg-type]
    ]
    return frozenset(_names_defined(files) - _names_defined(SOURCES))


def problems(source: str, where: str) -> list[str]:
    found = []
    private = dependency_private_names()
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, *rest = alias.name.split(".")
                if top == "httpcore" or (top == "httpx" and any(map(_private, rest))):
                    found.append(f"{line}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            top, *rest = node.module.split(".")
            if top == "httpcore":
                found.append(f"{line}: from {node.module} import ...")
            elif top == "httpx" and (
                any(map(_private, rest)) or any(_private(alias.name) for alias in node.names)
            ):
                found.append(f"{line}: from {node.module} import a private name")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in private
        ):
            found.append(f"{line}: {node.func.id}(..., {node.args[1].value!r}) is private")
        elif isinstance(node, ast.Attribute):
            if node.attr in private:
                found.append(f"{line}: .{node.attr} is private to httpx or httpcore")
            elif (node.attr == "__new__" and _httpx_or_object(node.value)) or (
                node.attr == "update"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "__dict__"
            ):
                found.append(f"{line}: an object built without its constructor")
    return found


def _httpx_or_object(node: ast.expr) -> bool:
    """``object``, ``httpx`` or ``httpx.Something``."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in ("object", "httpx")


def test_the_checker_finds_what_the_client_once_did() -> None:
    # Each line is one way the client used to reach into httpx or httpcore.
    before = """
import httpcore
from httpx._config import DEFAULT_LIMITS
pool = getattr(transport, "_pool", None)
pool._network_backend = wrapper(backend)
url = httpx.URL.__new__(httpx.URL)
url._uri_reference = parsed._replace(path=path)
clone = object.__new__(type(self))
clone.__dict__.update(self.__dict__)
"""
    found = problems(before, "before.py")
    assert len(found) == 8, found


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(WRAPPER)))
def test_wrapper_uses_only_public_api(path: Path) -> None:
    where = str(path.relative_to(WRAPPER.parent))
    assert problems(path.read_text(encoding="utf-8"), where) == []
