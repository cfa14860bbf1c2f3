"""`python -m bot` is the same as `testimony-bot`."""

import sys

from bot.cli import main

sys.exit(main())
