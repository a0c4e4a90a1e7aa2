"""The CLI habits users bring from Trivy and dissect: short options, quiet runs, help on every option,
errors in the subcommand's own words."""

from __future__ import annotations

import argparse
import json

from imgscan.cli import build_parser
from tests.conftest import REPO, run_imgscan

WS_ACC_0417 = REPO / "sample_images" / "built" / "ws-acc-0417.vhdx"


def test_every_option_of_every_subcommand_has_help():
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in subcommands.choices.items()
        for action in command._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert not missing, missing


def test_only_commands_that_judge_secure_boot_offer_the_firmware_options():
    """packages and catalogs run no Secure Boot check: --target-firmware there would change nothing it says."""
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    offering = {
        name
        for name, command in subcommands.choices.items()
        if any("--target-firmware" in action.option_strings for action in command._actions)
    }
    assert {"scan", "diff", "timeline"} <= offering and not {"packages", "catalogs"} & offering
    run = run_imgscan("catalogs", WS_ACC_0417, "--target-firmware", "2023")
    assert run.code == 2 and "unrecognized arguments: --target-firmware 2023" in run.stderr


def test_short_format_and_quiet(tmp_path):
    run = run_imgscan("scan", WS_ACC_0417, "--as-of", "2013-07-01", "-f", "json", "-q")
    assert run.code == 1 and json.loads(run.stdout)["findings"]
    assert run.stderr == ""


def test_unknown_option_is_one_line_naming_the_subcommands_help():
    run = run_imgscan("scan", WS_ACC_0417, "--no-such-option")
    assert run.code == 2
    assert run.stderr == "imgscan: error: unrecognized arguments: --no-such-option; see imgscan scan --help\n"


def test_explain_of_a_rule_id_says_it_is_a_rule_and_what_it_predicts():
    """A newcomer copies a rule id from a report into `explain`, which takes error codes."""
    run = run_imgscan("explain", "catalog-expiry")
    assert run.code == 2
    assert run.stderr == (
        "imgscan: error: 'catalog-expiry' is a rule, not an error code (it predicts 0x800B0101): "
        "'imgscan rules' describes every rule\n"
    )
    assert run_imgscan("explain", "no-such-rule").stderr.startswith("imgscan: error: 'no-such-rule' is neither a code")


def test_explain_of_an_unknown_code_says_only_that():
    table = run_imgscan("explain", "0xdeadbeef")
    assert table.code == 0
    assert table.stdout.strip() == "0xDEADBEEF  unknown: not in imgscan's error-code knowledge base"
    data = json.loads(run_imgscan("explain", "0xdeadbeef", "-f", "json").stdout)[0]
    assert data["known"] is False and data["observed_by"] == [] and data["facility"] is None
    known = json.loads(run_imgscan("explain", "0x800b0101", "-f", "json").stdout)[0]
    assert known["known"] is True and "catalog-expiry" in known["predicted_by"]


def test_a_wim_image_chosen_for_an_input_that_is_not_a_wim_is_a_usage_error(tmp_path):
    """--index 2 with a VHDX used to scan the disk's only Windows and say nothing: a user who meant the
    second image of a capture read the report of another one."""
    for command, option in (("scan", ("--index", "2")), ("packages", ("--image-name", "Windows 7 Enterprise"))):
        run = run_imgscan(command, WS_ACC_0417, *option)
        assert (run.code, run.stdout) == (2, "")
        assert run.stderr == (
            f"imgscan: error: {option[0]} chooses an image of a WIM, ESD or SWM file; {WS_ACC_0417} is not one "
            f"(leave {option[0]} out); see imgscan {command} --help\n"
        )
    folder = tmp_path / "extracted"
    folder.mkdir()
    assert "is not one" in run_imgscan("scan", folder, "--index", "1").stderr


def test_a_date_of_the_right_shape_but_no_calendar_day_says_so():
    run = run_imgscan("scan", WS_ACC_0417, "--as-of", "2013-02-30")
    assert run.code == 2 and run.stderr == (
        "imgscan: error: argument --as-of: 2013-02-30 is not a day of the calendar (day is out of range for month); "
        "see imgscan scan --help\n"
    )
    assert "is not a date (use YYYY-MM-DD)" in run_imgscan("scan", WS_ACC_0417, "--as-of", "July 1st").stderr


def test_no_cache_and_a_cache_dir_together_are_refused(tmp_path):
    run = run_imgscan("scan", WS_ACC_0417, "--no-cache", "--cache-dir", tmp_path)
    assert run.code == 2 and "argument --cache-dir: not allowed with argument --no-cache" in run.stderr
