"""The command line, `imgscan COMMAND ...` (the `imgscan` console script and `python -m imgscan`).

`app` assembles the parser and runs one command; `options` holds the option types and the option groups
the commands share, `validation` the usage errors found before anything is scanned, `outputs` where
reports go, `exits` the exit codes and the one-line messages of a bug or an interruption. Each command
family has its module: `scan`, `listings` (packages, catalogs, timeline), `preflight`, `diff`, `fleet`
and `info` (images, explain, rules, plugins). Commands import what they need when they run, so that
`--version`, `--help`, `explain` and `plugins` do not pay for dissect, the fleet engine or the report views.
"""

from imgscan.cli.app import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERNAL, build_parser, main, run

__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "EXIT_INTERNAL", "build_parser", "main", "run"]
