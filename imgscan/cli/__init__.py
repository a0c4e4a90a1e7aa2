"""The command line, `imgscan COMMAND ...` (the `imgscan` console script and `python -m imgscan`).

`app` holds the parser and the commands, `outputs` where reports go.
"""

from imgscan.cli.app import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, build_parser, main

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_INTERNAL", "build_parser", "main"]
