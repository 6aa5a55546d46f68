"""``python -m bird_flashcalls``: the bird-flashcalls command."""

import sys

from .cli import main

sys.exit(main())
