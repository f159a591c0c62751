"""``python -m mimamori``: the same as the ``mimamori`` command (the one upward import the layer
contract allows: the kernel's entry point hands over to the composition root)."""

import sys

from app.cli import main

sys.exit(main())
