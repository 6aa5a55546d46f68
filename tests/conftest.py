import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The spec tooling in openapi/ is a set of scripts, not a package.
sys.path.insert(0, str(ROOT / "openapi"))
