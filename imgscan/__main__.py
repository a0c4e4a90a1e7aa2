"""`python -m imgscan` runs the same CLI as the `imgscan` console script."""

import sys

from imgscan.cli import main

if __name__ == "__main__":  # not when a catalog worker process imports it
    sys.exit(main())
