"""``python -m admf`` is the ``admf`` command."""

import sys

from .cli import main

sys.exit(main())
