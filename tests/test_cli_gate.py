"""Issue 22, "a CI gate people can trust": option values are checked before any scanning, each mistake is one
line and exit 2 in every subcommand, reports go where and in the format their names say, and the exit codes
the README lists are the ones imgscan gives (130 and 143 are in tests/test_interrupt.py).

"Before any scanning" is shown by giving an image that does not exist: the error names the option, not the
image, so the option was refused before the image was opened.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from imgscan import ISSUES_URL, cli
from tests.conftest import REPO, run_imgscan, sha256

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NOWHERE = Path("/nonexistent/dir")
# every subcommand, with the arguments it needs to get as far as scanning (the image does not exist)
MISSING = Path("/nonexistent/golden.vhdx")
SUBCOMMANDS = {
    "scan": ("scan", MISSING),
    "packages": ("packages", MISSING),
    "catalogs": ("catalogs", MISSING),
    "timeline": ("timeline", MISSING),
    "diff": ("diff", MISSING, MISSING),
    "fleet": ("fleet", MISSING),
    "images": ("images", MISSING),
    "explain": ("explain", "0x800b0101"),
    "rules": ("rules",),
    "plugins": ("plugins",),
}
DATED = ("scan", "packages", "catalogs", "timeline", "diff", "fleet")
WITH_OUTPUT = ("scan", "packages", "catalogs", "timeline", "diff", "fleet")


def usage_error(run, *needles: str) -> str:
    """The run is one usage-error line (exit 2, no usage block, no traceback) holding every needle."""
    assert run.code == 2, run
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("imgscan: error: ") and re.search(r"; see imgscan( \w+)? --help$", lines[0]), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# -- option values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_plugins_must_be_an_existing_folder_of_checks(command, tmp_path):
    args = SUBCOMMANDS[command]
    usage_error(run_imgscan(*args, "--plugins", "/nonexistent"), "--plugins", "/nonexistent: no such directory")
    (tmp_path / "check.txt").write_text("not python")
    usage_error(run_imgscan(*args, "--plugins", tmp_path / "check.txt"), "not a directory")
    usage_error(run_imgscan(*args, "--plugins", tmp_path), "holds no .py file")


@pytest.mark.parametrize("command", DATED)
@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--horizon", "-5", "not a number of days from 0 to 36500"),
        ("--horizon", "99999999999", "not a number of days from 0 to 36500"),
        ("--horizon", "a year", "not a number of days"),
        ("--as-of", "9999-12-31", "outside the days imgscan judges, 1990-01-01 to 2199-12-31"),
        ("--as-of", "1989-12-31", "outside the days imgscan judges"),
        ("--as-of", "yesterday", "not a date (use YYYY-MM-DD)"),
    ],
)
def test_dates_and_horizons_are_checked_up_front(command, option, value, needle):
    usage_error(run_imgscan(*SUBCOMMANDS[command], option, value), f"argument {option}: ", needle)


def test_the_last_day_and_the_longest_horizon_scan(images):
    """2199-12-31 + 36,500 days stays inside every calendar imgscan compares days in (9999-12-31 overflowed)."""
    for as_of, horizon in (("2199-12-31", "36500"), ("1990-01-01", "0")):
        run = run_imgscan("scan", images["ws-acc-0417"]["vhdx"], "--as-of", as_of, "--horizon", horizon, "-f", "json")
        assert run.code in (0, 1), run.stderr
        assert (run.report["as_of"], run.report["horizon_days"]) == (as_of, int(horizon))


@pytest.mark.parametrize("command", WITH_OUTPUT)
def test_an_unwritable_report_is_refused_before_the_scan(command, tmp_path):
    args = SUBCOMMANDS[command]
    usage_error(run_imgscan(*args, "-o", NOWHERE / "r.json"), "argument -o/--output: ", f"{NOWHERE}: no such directory")
    usage_error(run_imgscan(*args, "-o", tmp_path), f"{tmp_path} is a directory")
    # not even root may create files there
    usage_error(run_imgscan(*args, "-o", "/proc/r.json"), "cannot create /proc/r.json: /proc takes no new files")
    (tmp_path / "file").write_text("")
    usage_error(run_imgscan(*args, "-o", tmp_path / "file" / "r.json"), "is not a directory")


def test_fix_script_and_fleet_database_are_checked_like_reports(tmp_path):
    usage_error(run_imgscan("scan", MISSING, "--fix-script", NOWHERE / "fixes.reg"), "argument --fix-script: ")
    usage_error(run_imgscan("fleet", MISSING, "--db", NOWHERE / "fleet.sqlite"), "argument --db: ", "no such directory")
    usage_error(run_imgscan("fleet", MISSING, "--db", tmp_path), "is a directory")
    notes = tmp_path / "notes.sqlite"
    notes.write_text("my notes\n")
    usage_error(run_imgscan("fleet", MISSING, "--db", notes), "is not an imgscan fleet database")
    assert notes.read_text() == "my notes\n"
    usage_error(run_imgscan("fleet", "--report", "--db", tmp_path / "none.sqlite"), "no such fleet database")
    assert not (tmp_path / "none.sqlite").exists()


def test_a_report_never_lands_on_an_input_or_on_another_report(images, tmp_path):
    image = images["healthy"]["vhdx"]
    before = sha256(image)
    usage_error(run_imgscan("scan", image, "-f", "json", "-o", image), "is an input of this command")
    usage_error(run_imgscan("scan", image, "--fix-script", image), "is an input of this command")
    usage_error(run_imgscan("diff", image, MISSING, "-f", "json", "-o", image), "is an input of this command")
    twice = tmp_path / "r.json"
    usage_error(run_imgscan("scan", image, "-f", "json", "-o", twice, "-f", "json", "-o", twice), "is given twice")
    usage_error(run_imgscan("fleet", image, "--db", tmp_path / "f.sqlite", "-o", tmp_path / "f.sqlite"), "is given twice")
    assert sha256(image) == before and list(tmp_path.iterdir()) == []


def test_every_option_error_is_one_line_in_every_subcommand():
    for name, args in SUBCOMMANDS.items():
        line = usage_error(run_imgscan(*args, "--no-such-option"), "unrecognized arguments: --no-such-option")
        assert line.endswith(f"; see imgscan {name} --help")
        if name != "plugins":  # the one subcommand without -f
            usage_error(run_imgscan(*args, "-f", "nope"), "argument -f/--format: invalid choice: 'nope'")
    usage_error(run_imgscan("scan", MISSING, "--fail-on", "severe"), "unknown severity 'severe'")
    usage_error(run_imgscan("scan", MISSING, "--jobs", "0"), "not a number of processes")
    usage_error(run_imgscan("fleet", MISSING, "--jobs", "-3"), "not a number of processes")
    assert usage_error(run_imgscan()).endswith("; see imgscan --help")
    usage_error(run_imgscan("frobnicate"), "invalid choice: 'frobnicate'")


# -- where reports go ---------------------------------------------------------------------------------------------


def test_the_report_name_says_the_format(images, tmp_path):
    image = images["ws-acc-0417"]["vhdx"]
    names = ("only.json", "r.sarif", "r.html", "r.csv", "r.xml", "r.txt")
    run = run_imgscan("scan", image, "--as-of", "2013-07-01", *(arg for n in names for arg in ("-o", tmp_path / n)))
    assert (run.code, run.stdout) == (1, ""), run.stderr
    assert json.loads((tmp_path / "only.json").read_text())["findings"]
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text().splitlines()))
    assert "wintrust-offline-revocation" in {row["rule"] for row in rows}
    assert "<testsuite" in (tmp_path / "r.xml").read_text()
    assert (tmp_path / "r.txt").read_text().startswith("imgscan ")
    packages = run_imgscan("packages", image, "-o", tmp_path / "p.json")
    assert packages.code == 0 and json.loads((tmp_path / "p.json").read_text())["packages"] is not None
    assert run_imgscan("scan", image, "-o", "/dev/null").code == 1  # a device has no name to go by: table


def test_a_name_that_says_nothing_or_the_wrong_format_is_refused(tmp_path):
    said = usage_error(
        run_imgscan("scan", MISSING, "-o", tmp_path / "report"), "its name does not say the format", "add -f FORMAT"
    )
    assert ".sarif" in said and ".jsonl" not in said and ".rec" not in said  # only the names scan writes
    usage_error(run_imgscan("timeline", MISSING, "-o", tmp_path / "t"), ".jsonl", ".rec")
    usage_error(run_imgscan("scan", MISSING, "--fix-script", tmp_path / "fixes.txt"), "neither .reg", ".ps1")
    wrong = run_imgscan("scan", MISSING, "-f", "sarif", "-o", tmp_path / "r.json")
    usage_error(wrong, "the name says json, its --format says sarif")
    usage_error(run_imgscan("scan", MISSING, "-f", "table", "-o", tmp_path / "r.json"), "the name says json")
    usage_error(run_imgscan("timeline", MISSING, "-o", tmp_path / "t.sarif"), "imgscan timeline does not write sarif")
    usage_error(run_imgscan("scan", MISSING, "-f", "json", "-f", "csv", "-f", "html"), "give one -o FILE per --format")
    assert list(tmp_path.iterdir()) == []


def test_a_command_that_writes_one_report_refuses_a_second_and_a_file_named_dash(tmp_path):
    """preflight -f json -o a.json -f sarif -o b.sarif wrote b.sarif alone, silently; -o - wrote a file named '-';
    --index with --image-name scanned the index and ignored the name."""
    updates = REPO / "sample_images"  # exists: a missing update is refused before the outputs are looked at
    for command in (("preflight", MISSING, updates), ("catalogs", MISSING), ("fleet", MISSING), ("diff", MISSING, MISSING)):
        pair = ("-f", "json", "-o", tmp_path / "a.json", "-f", "table", "-o", tmp_path / "b.txt")
        if command[0] in ("catalogs", "diff"):
            pair = ("-o", tmp_path / "a.json", "-o", tmp_path / "b.json")
        usage_error(run_imgscan(*command, *pair), f"imgscan {command[0]} writes one report: give -f and -o once")
    usage_error(run_imgscan("catalogs", MISSING, "-f", "json", "-o", "-", cwd=tmp_path), "'-' is not a file name")
    usage_error(run_imgscan("scan", MISSING, "--index", "1", "--image-name", "x"), "give one of them")
    assert list(tmp_path.iterdir()) == []


# -- exit codes ---------------------------------------------------------------------------------------------------


def _readme_exit_codes() -> dict[int, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.M)}


def test_the_readme_table_lists_the_exit_codes_imgscan_gives():
    assert set(_readme_exit_codes()) == {0, 1, 2, 3, 130, 143}
    for command in ("--help", "scan --help", "fleet --help", "diff --help", "explain --help"):
        text = " ".join(run_imgscan(*command.split()).stdout.split())
        for code in set(_readme_exit_codes()) - ({1} if command.startswith("explain") else set()):
            assert re.search(rf"\b{code} ", text.split("exit codes:")[1]), (command, code)


def test_each_commands_help_gives_its_own_exit_codes():
    """Every command's help said "1 a finding at or above --fail-on", also where there is no --fail-on (timeline,
    packages, explain...: `timeline --fail-on high` is a usage error, and they never exit 1)."""
    from imgscan.cli.app import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) >= 11
    for name, command in commands.choices.items():
        gates = any("--fail-on" in action.option_strings for action in command._actions)
        codes = (command.epilog or "").split("exit codes:", 1)[1]
        assert ("--fail-on" in codes) == gates, name
        assert ("; 1 " in codes) == (gates or name == "preflight"), name  # preflight: 1 an update will not install


def test_exit_0_pass_1_findings_2_unreadable(images, tmp_path):
    assert run_imgscan("scan", images["healthy"]["vhdx"], "-o", "/dev/null").code == 0
    assert run_imgscan("scan", images["ws-acc-0417"]["vhdx"], "--as-of", "2013-07-01", "-o", "/dev/null").code == 1
    empty = tmp_path / "install.wim"
    empty.write_bytes(b"")
    run = run_imgscan("scan", empty)
    assert run.code == 2 and run.stderr.startswith(f"imgscan: error: {empty}: ")


def test_exit_3_is_a_bug_with_where_to_report_it(images, monkeypatch, capsys):
    """An internal error is an exception imgscan did not expect: a bug, not a bad image. One line, exit 3."""
    from imgscan import scan as scan_module

    def broken(*_args, **_kwargs):
        return {}["summary"]  # what a bug looks like: a KeyError deep in the report

    monkeypatch.setattr(scan_module, "scan_volume", broken)
    assert cli.main(["scan", str(images["healthy"]["vhdx"]), "-f", "json"]) == cli.EXIT_INTERNAL == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "imgscan: internal error (a bug in imgscan): KeyError: 'summary'; please report it at "
        f"{ISSUES_URL} with the command and the output of --debug\n"
    )
    # --debug: the traceback for the report, then the same line and exit code
    assert cli.main(["scan", str(images["healthy"]["vhdx"]), "--debug"]) == 3
    out, err = capsys.readouterr()
    assert "Traceback (most recent call last):" in err and "KeyError: 'summary'" in err  # after the debug log
    assert err.endswith(f"{ISSUES_URL} with the command and the output of --debug\n")


def test_the_issue_tracker_is_the_projects():
    urls = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert urls["Issues"] == ISSUES_URL and ISSUES_URL.startswith(urls["Homepage"])


def test_jobs_with_a_temporary_folder_too_deep_for_a_socket_gives_the_same_report(tmp_path):
    """multiprocessing's socket lives in TMPDIR and a socket path holds 107 bytes: too deep, the catalogs are judged
    in the scan's own process (this was an internal error)."""
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    image = REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx"
    command = [sys.executable, "-m", "imgscan", "scan", str(image), "-f", "json", "--as-of", "2013-07-01"]
    env = dict(os.environ, TMPDIR=str(deep))
    parallel = subprocess.run([*command, "--jobs", "2"], capture_output=True, text=True, env=env, timeout=300)
    said = [line for line in parallel.stderr.splitlines() if "-day horizon" not in line]  # the sample's 2019 SHA-2 day
    assert (parallel.returncode, said) == (1, [])
    assert parallel.stdout == run_imgscan(*command[3:], "--jobs", "1").stdout
    assert list(deep.iterdir()) == []


@pytest.mark.parametrize("command", ["scan", "explain", "rules", "plugins"])
def test_a_reader_that_goes_away_is_not_a_bug(images, command):
    """`imgscan scan IMAGE | head`: the pipe closes before the report is out; one line, exit 2, not exit 3."""
    args = {"scan": ("scan", images["ws-acc-0417"]["vhdx"], "--as-of", "2013-07-01"), "explain": ("explain", "0x800b0101")}
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as closed:
        command_line = [sys.executable, "-m", "imgscan", *map(str, args.get(command, (command,)))]
        run = subprocess.run(command_line, stdout=closed, stderr=subprocess.PIPE, text=True, timeout=300)
    assert run.returncode == 2
    assert run.stderr == "imgscan: error: stdout: the program reading the report closed it before the end\n"


@pytest.mark.parametrize(("as_of", "verdict"), [("2012-01-01", 0), ("2013-07-01", 1)])
def test_a_reader_of_stderr_that_goes_away_leaves_the_verdict_as_it_is(tmp_path, as_of, verdict):
    """`imgscan scan IMAGE 2>&1 | head -1`: the warning written after the reader quit raised BrokenPipeError, which
    escaped, and a clean run exited 1, a gate's "found something"; the report was whole. Warnings are
    diagnostics: the run's exit code is its verdict, and the report is written."""
    image = REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx"
    report = tmp_path / "r.json"
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as closed:  # the sample warns of its 2019 SHA-2 failure beyond the horizon
        command = [sys.executable, "-m", "imgscan", "scan", str(image), "--as-of", as_of, "-o", str(report)]
        run = subprocess.run([*command, "--fail-on", "critical"], stdout=subprocess.DEVNULL, stderr=closed, timeout=300)
    assert run.returncode == verdict
    assert json.loads(report.read_text(encoding="utf-8"))["summary"]["critical"] == verdict


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_reader_that_quits_after_the_first_bytes_of_a_large_report_is_a_write_error(unbuffered):
    """`imgscan scan IMAGE -f json | head -c 100`: with PYTHONUNBUFFERED set (containers and CI runners set
    it) stdout took the first 64 KB of the report and dropped the rest without a word, exit 0 or 1. The
    report is not whole: one line and exit 2, whatever Python's buffering."""
    image = REPO / "sample_images" / "built" / "ref-w7-2012q3.vhdx"
    args = ["scan", str(image), "--as-of", "2013-07-01", "-f", "json"]
    assert len(run_imgscan(*args).stdout.encode()) > 65536 + 100  # more than a pipe holds after the reader's 100 bytes
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | ({"PYTHONUNBUFFERED": "1"} if unbuffered else {})
    proc = subprocess.Popen([sys.executable, "-m", "imgscan", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    said = [line for line in proc.stderr.read().decode().splitlines() if "-day horizon" not in line]
    closed = "imgscan: error: stdout: the program reading the report closed it before the end"
    assert (proc.wait(timeout=300), said) == (2, [closed])


@pytest.mark.parametrize("command", ["scan", "diff", "explain"])
def test_a_full_stdout_is_a_write_error_not_a_bug(command):
    """`imgscan scan IMAGE > /dev/full` exited 3, "internal error, please report it": the disk is full, and the
    report is not whole. One line and exit 2, as -o /dev/full already gave."""
    image = REPO / "sample_images" / "built" / "healthy.vhdx"
    args = {"scan": ("scan", image), "diff": ("diff", image, image), "explain": ("explain", "0x800b0101")}[command]
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            [sys.executable, "-m", "imgscan", *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True, timeout=300
        )
    assert run.returncode == 2
    assert run.stderr == "imgscan: error: stdout: cannot write the report: No space left on device\n"


def test_a_refused_command_makes_no_file_beside_its_image(tmp_path):
    """`scan in/x.vhdx -o in/x.vhdx` is refused (never writes over its input), but first made and removed a probe
    file in in/, changing the evidence folder's modification time; so did `-o in/report.json --index 1` on a
    disk. The probe is now the last check of a command, after every other refusal."""
    evidence = tmp_path / "in"
    evidence.mkdir()
    image = evidence / "ws-acc-0417.vhdx"
    image.symlink_to(REPO / "sample_images" / "built" / "ws-acc-0417.vhdx")
    before = evidence.stat().st_mtime_ns
    for extra in (
        ("-o", image),
        ("-o", evidence / "report.json", "--index", "1"),
        ("--as-of", "1900-01-01", "-o", evidence / "r.json"),
    ):
        assert run_imgscan("scan", image, *extra).code == 2
        assert evidence.stat().st_mtime_ns == before and [p.name for p in evidence.iterdir()] == [image.name]
    # the probe still runs when nothing else refuses: a folder that takes no file, not even root's
    usage_error(run_imgscan("scan", image, "-o", "/proc/r.json"), "cannot create /proc/r.json: /proc takes no new files")


def test_a_report_never_lands_on_the_ignore_file_or_inside_a_folder_image(images, tmp_path):
    """`-o exp.yaml --ignore exp.yaml` replaced the team's ignore file with JSON (the next run failed on it), and so
    did `-o .imgscanignore.yaml` with the one read by default; `scan img.dir -o img.dir/report.json` wrote into the
    extracted image and changed its tree digest. Each is an input: a usage error before anything is read."""
    accepted = tmp_path / "exp.yaml"
    accepted.write_text("- rule: qfe-empty\n  reason: accepted\n")
    image = images["healthy"]["vhdx"]
    usage_error(run_imgscan("scan", image, "-f", "json", "-o", accepted, "--ignore", accepted), "is an input of this command")
    default = tmp_path / ".imgscanignore.yaml"
    default.write_text(accepted.read_text())
    usage_error(run_imgscan("scan", image, "-f", "json", "-o", default.name, cwd=tmp_path), "is an input of this command")
    assert accepted.read_text() == default.read_text() == "- rule: qfe-empty\n  reason: accepted\n"
    folder = images["healthy"]["dir"]
    before = run_imgscan("scan", folder, "-f", "json").report["image"]["sha256"]
    for inside in (folder / "report.json", folder / "Windows" / "report.json"):
        usage_error(run_imgscan("scan", folder, "-o", inside), f"lies in {folder}, an image this command reads")
        assert not inside.exists()
    assert run_imgscan("scan", folder, "-f", "json").report["image"]["sha256"] == before


def test_the_readme_example_is_what_imgscan_prints():
    """The README's example output, line by line (a line cut with "..." by its start): its "seen" times lost their
    clock (host local time, Z) without anyone noticing."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Example", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    commands = re.split(r"^\$ (.+)$", block, flags=re.M)[1:]
    assert len(commands) >= 4
    for command, shown in zip(commands[::2], commands[1::2], strict=True):
        args = command.split("#", 1)[0].split()[1:]  # after `imgscan`, without the comment
        printed = run_imgscan(*args, cwd=REPO).stdout.splitlines()  # the paths as the README gives them
        for line in filter(None, shown.splitlines()):
            if line.strip() == "...":
                continue
            cut = line.endswith(" ...") or line.endswith("; ...")
            wanted = line.removesuffix(" ...").removesuffix("...") if cut else line
            assert any((p.startswith(wanted) if cut else p == wanted) for p in printed), (command, line)


def test_diff_names_the_side_a_warning_is_about():
    """Failures past --horizon on one side only: the line says which image holds them; on both, it is said once."""
    built = REPO / "sample_images" / "built"
    healthy, reference = built / "healthy.vhdx", built / "ref-w7-2012q3.vhdx"
    dated = ("--as-of", "2012-12-01", "--horizon", "30")
    past = "6 failure(s) start after the 30-day horizon, the first on 2013-06-30 (catalog-expiry): --horizon 211 reports it"
    one = run_imgscan("diff", healthy, reference, *dated)
    assert one.code == 0 and one.stderr.splitlines() == [f"imgscan: warning: {reference}: {past}"]
    both = run_imgscan("diff", reference, reference, *dated)
    assert both.code == 0 and both.stderr.splitlines() == [f"imgscan: warning: {past}"]
