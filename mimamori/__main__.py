import sys

from mimamori.cli import main

sys.exit(main())
