"""`python -m imgscan` runs the same CLI as the `imgscan` console script."""

import sys

from imgscan.cli import main

sys.exit(main())
