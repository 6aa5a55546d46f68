"""The generator's template overrides: each starts from a stored copy of the generator's own, and
they work on shapes a spec change may add (nested, optional, listed, union, additional and
self-referencing models; optional query parameters; two request bodies; a response-only model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import generate
import openapi_python_client
import pytest

from .support import ROOT

# One worker generates this module's client (make test runs the suite on xdist).
pytestmark = pytest.mark.xdist_group("template-shapes")

SPEC = Path(__file__).with_name("template_shapes.openapi.json")
OVERRIDES = ROOT / "templates"
STORED = Path(__file__).with_name("upstream_templates")
UPSTREAM = Path(openapi_python_client.__file__).parent / "templates"
OVERRIDE_FILES = sorted(
    path.relative_to(OVERRIDES).as_posix() for path in OVERRIDES.rglob("*.jinja")
)

EXERCISE = r"""
import uuid

import httpx
from bird_channels_api import Client
from bird_channels_api.api.default import post_thing
from bird_channels_api.models import Inner, Mode, Other, Outer, Problem

full = {
    "req": {"a": "r"},
    "items": [{"a": "i1"}, {"a": "i2"}],
    "opt": {"a": "o"},
    "either": {"b": 7},
    "child": {"req": {"a": "c"}, "items": []},
    "extra": {"k": {"b": 1}},
}
outer = Outer.from_dict(full)
assert outer.req == Inner(a="r") and outer.opt == Inner(a="o") and outer.either == Other(b=7)
assert isinstance(outer.child, Outer) and outer.extra.additional_properties["k"] == Other(b=1)
assert outer.to_dict() == full, outer.to_dict()
assert Outer.from_dict({"req": {"a": "r"}, "items": []}).to_dict() == {"req": {"a": "r"}, "items": []}

thing = uuid.uuid4()
kwargs = post_thing._get_kwargs(thing, body=Outer.from_dict(full), verbose=True, mode=Mode.FAST)
assert kwargs["url"] == f"/things/{thing}" and kwargs["json"] == full
assert kwargs["params"] == {"verbose": True, "mode": "fast"}
assert post_thing._get_kwargs(thing, body=Other(b=2))["json"] == {"b": 2}
client = Client(base_url="https://example.test")
ok = post_thing._build_response(client=client, response=httpx.Response(200, json=full))
assert ok.parsed == outer
missing = post_thing._parse_response(
    client=client, response=httpx.Response(404, json={"detail": "gone", "inner": {"a": "x"}})
)
assert missing == Problem(detail="gone", inner=Inner(a="x"))
print("all shapes work")
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("shapes")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generate, "SPEC", SPEC)
        generate.generate(into)
    return into


def test_generated_code_works_for_every_kind_of_nested_model(generated: Path) -> None:
    # A package of its own name, apart from the one bird_flashcalls carries.
    env = {**os.environ, "PYTHONPATH": str(generated)}
    result = subprocess.run(
        [sys.executable, "-c", EXERCISE],
        capture_output=True,
        text=True,
        env=env,
        cwd=generated,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "all shapes work" in result.stdout


def test_response_models_are_loaded_where_used(generated: Path) -> None:
    source = generated / "bird_channels_api" / "api" / "default" / "post_thing.py"
    endpoint = source.read_text(encoding="utf-8").split("\nif TYPE_CHECKING:", 1)[0]
    assert "from ...models.outer import Outer\n" in endpoint  # a request body
    assert "models.problem" not in endpoint  # only a response


def test_each_override_and_only_an_override_has_a_stored_upstream_copy() -> None:
    assert OVERRIDE_FILES, "templates/ is empty: this check guards nothing"
    stored = sorted(path.relative_to(STORED).as_posix() for path in STORED.rglob("*.jinja"))
    assert stored == OVERRIDE_FILES, (
        f"each template in templates/ overrides a generator template; {STORED.relative_to(ROOT)}/ "
        "keeps a copy of the upstream template it started from, and nothing else"
    )


@pytest.mark.parametrize("name", OVERRIDE_FILES)
def test_the_pinned_generator_template_is_the_stored_copy(name: str) -> None:
    upstream = UPSTREAM / name
    assert upstream.is_file(), f"the generator no longer has templates/{name}: drop the override"
    assert upstream.read_text(encoding="utf-8") == (STORED / name).read_text(encoding="utf-8"), (
        f"openapi-python-client {openapi_python_client.__version__} changed templates/{name}: "
        f"re-read it, carry the change in templates/{name} over, then store the new upstream "
        f"copy in {STORED.relative_to(ROOT)}/{name}"
    )
