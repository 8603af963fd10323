"""``python -m flopwatt`` = the ``flopwatt`` command."""

from flopwatt.cli import main

raise SystemExit(main())
