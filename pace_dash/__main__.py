"""Run the command line: `python -m pace_dash --help`."""

import sys

from pace_dash.cli import main

sys.exit(main())
