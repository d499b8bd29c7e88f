"""``python -m vashrink.cli``: the same as the ``vashrink`` command."""

import sys

from . import main

sys.exit(main())
