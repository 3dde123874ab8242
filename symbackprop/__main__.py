"""``python -m symbackprop`` runs the command line."""

import sys

from symbackprop.cli.commands import main

sys.exit(main())
