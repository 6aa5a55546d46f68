"""Every template override starts from a stored copy of the generator's own template.

When the pinned openapi-python-client changes a template we override, this fails and names the
file: re-read the new upstream template, carry our change over, and store the new copy.
"""

from __future__ import annotations

from pathlib import Path

import openapi_python_client
import pytest

ROOT = Path(__file__).resolve().parents[2]
OVERRIDES = ROOT / "templates"
STORED = Path(__file__).with_name("upstream_templates")
UPSTREAM = Path(openapi_python_client.__file__).parent / "templates"

OVERRIDE_FILES = sorted(
    path.relative_to(OVERRIDES).as_posix() for path in OVERRIDES.rglob("*.jinja")
)


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
