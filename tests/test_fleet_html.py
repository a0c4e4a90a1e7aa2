"""Issue 24 part 6: "which hosts fail when" in the fleet's HTML view (grouped by first failing day, counts per
rule, a filter by site, ring and model, a legend, labels inside the chart), measured in a real Chromium at two
widths; and the same per-host rows in CSV and JSON."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import pytest

from tests.conftest import run_imgscan
from tests.test_fleet_hosts import AS_OF, golden, manifest  # noqa: F401 (golden: the fixture)
from tests.test_reports import chromium

HOSTS = (
    "path,host,target_firmware,network,recovery_free_mb,site,ring,owner,model,deployed\n"
    "{image},PC-A,2011-only,offline,100,BER,pilot,it-ber,Latitude 7440,\n"
    "{image},PC-B,2023,online,500,BER,broad,it-ber,OptiPlex 7010,\n"
    "{image},PC-C,,proxy,,HAM,broad,it-ham,Latitude 7440,\n"
    "{image},PC-LATE,2011-only,offline,100,HAM,pilot,it-ham,OptiPlex 7010,2026-03-01\n"
)
LABELS = {  # what the host list says of each host
    "PC-A": ("BER", "pilot", "it-ber", "Latitude 7440"),
    "PC-B": ("BER", "broad", "it-ber", "OptiPlex 7010"),
    "PC-C": ("HAM", "broad", "it-ham", "Latitude 7440"),
    "PC-LATE": ("HAM", "pilot", "it-ham", "OptiPlex 7010"),
}


@pytest.fixture(scope="module")
def fleet_run(golden, tmp_path_factory):  # noqa: F811 (the imported fixture)
    """One run of four hosts on one image, with different labels, models and first failing days; its store."""
    out = tmp_path_factory.mktemp("fleet-html")
    db = out / "fleet.sqlite"
    run = run_imgscan("fleet", manifest(out, golden, HOSTS), "--as-of", AS_OF, "--db", db, "--jobs", "1")
    assert run.code == 1, run.stderr
    return db


def view(db, fmt: str) -> str:
    shown = run_imgscan("fleet", "--db", db, "--report", "--format", fmt)
    assert shown.code == 1, shown.stderr
    return shown.stdout


def test_csv_and_json_carry_the_same_per_host_rows(fleet_run):
    as_json = {r["host"]: r for r in json.loads(view(fleet_run, "json"))}
    as_csv = {r["host"]: r for r in csv.DictReader(io.StringIO(view(fleet_run, "csv")))}
    assert set(as_json) == set(as_csv) == set(LABELS)
    for host, (site, ring, owner, model) in LABELS.items():
        j, c = as_json[host], as_csv[host]
        assert j["labels"] == {"site": site, "ring": ring, "owner": owner}
        assert (j["site"], j["ring"], j["owner"], j["model"]) == (site, ring, owner, model)
        assert (c["site"], c["ring"], c["owner"], c["model"]) == (site, ring, owner, model)
        same = ("image", "first_failure", "worst", "rules", "verdict", "as_of")
        assert {k: c[k] for k in same} == {k: str(j[k]) for k in same}
    assert (as_csv["PC-A"]["first_failure"], as_csv["PC-LATE"]["first_failure"]) == ("2024-01-09", "2026-03-01")
    assert as_csv["PC-B"]["verdict"] == "pass" and as_csv["PC-C"]["first_failure"] == ""
    # the columns older readers know come first, in their order
    header = view(fleet_run, "csv").splitlines()[0].split(",")
    assert header[:8] == ["host", "image", "scan", "verdict", "worst", "rules", "first_failure", "error"]


# Runs in the page after its own script: measures every label of the chart (inside the SVG's box and the
# window, none overlapping), the legend and the filter; then filters by site and reads what is left shown.
PROBE = """<script>
const result = {width: window.innerWidth, problems: [], errors: []};
window.addEventListener('error', (e) => result.errors.push(String(e.message)));
const svg = document.getElementById('chart');
const box = svg.viewBox.baseVal;
const texts = [...svg.querySelectorAll('text')];
const inWindow = (r) => r.left >= 0 && r.right <= window.innerWidth;
for (const t of texts) {
  const b = t.getBBox();
  if (b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y || b.y + b.height > box.y + box.height)
    result.problems.push('outside the chart: ' + t.textContent);
  if (!inWindow(t.getBoundingClientRect())) result.problems.push('outside the window: ' + t.textContent);
}
for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
  const a = texts[i].getBBox(), b = texts[j].getBBox();
  if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
    result.problems.push('overlap: ' + texts[i].textContent + ' / ' + texts[j].textContent);
}
for (const label of document.querySelectorAll('#filters label'))
  if (!inWindow(label.getBoundingClientRect())) result.problems.push('filter outside the window: ' + label.textContent);
if (!inWindow(svg.getBoundingClientRect())) result.problems.push('chart wider than the window');
result.days = [...svg.querySelectorAll('text.day')].map((t) => t.textContent);
result.legend = [...svg.querySelectorAll('.legend text')].map((t) => t.textContent);
result.filters = [...document.querySelectorAll('#filters select')].map((s) => s.dataset.label);
const shown = (selector) => [...document.querySelectorAll(selector)].filter((e) => e.offsetParent !== null);
const groups = () => shown('#when tr.group').map((g) => [
  g.querySelector('th').textContent, Number(g.querySelector('.count').textContent), g.querySelector('.rules').textContent]);
result.before = {hosts: shown('#hosts tr[data-host]').map((r) => r.dataset.host), groups: groups()};
const site = document.querySelector('#filters select[data-label="site"]');
site.value = 'HAM';
site.dispatchEvent(new Event('change'));
result.after = {hosts: shown('#hosts tr[data-host]').map((r) => r.dataset.host),
  when: shown('#when tr[data-host]').map((r) => r.dataset.host), groups: groups(),
  count: document.getElementById('shown').textContent};
document.body.insertAdjacentHTML('beforeend', '<pre id="probe">' + JSON.stringify(result) + '</pre>');
</script>"""


@pytest.mark.parametrize("width", [1280, 500])
def test_html_groups_hosts_by_first_failing_day_and_filters_by_label_in_chromium(fleet_run, tmp_path, width):
    page = tmp_path / "fleet.html"
    page.write_text(view(fleet_run, "html"), encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert "<script src" not in text and "<link" not in text  # works offline: nothing fetched
    plain = chromium(f"--window-size={width},900", "--dump-dom", page.as_uri(), tmp_path=tmp_path)
    assert plain.returncode == 0
    assert "CONSOLE" not in plain.stderr and "Uncaught" not in plain.stderr, plain.stderr
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium(f"--window-size={width},900", "--dump-dom", probe.as_uri(), tmp_path=tmp_path)
    assert "Uncaught" not in dom.stderr, dom.stderr
    found = re.findall(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the probe did not run"
    result = json.loads(html.unescape(found[-1]))
    assert result["width"] == width and result["errors"] == []
    assert result["problems"] == []
    assert result["days"][-1] == "2026-03-01"  # the right-hand date label is there, and inside (above)
    assert len(result["legend"]) == 2 and all(result["legend"])
    assert result["filters"] == ["site", "ring", "model"]
    assert sorted(result["before"]["hosts"]) == sorted(LABELS)
    assert [(label, n) for label, n, _ in result["before"]["groups"]] == [
        ("failing since 2024-01-09", 1),
        ("failing now, undated", 1),
        ("failing from 2026-03-01", 1),
        ("passing through 2026-06-01", 1),
    ]
    ham = sorted(h for h, labels in LABELS.items() if labels[0] == "HAM")
    assert sorted(result["after"]["hosts"]) == sorted(result["after"]["when"]) == ham
    assert result["after"]["count"] == str(len(ham))
    assert [label for label, _, _ in result["after"]["groups"]] == ["failing now, undated", "failing from 2026-03-01"]
    # the counts per rule follow the hosts shown: PC-C's proxy and PC-LATE's offline network both bite
    rules = dict(item.split(": ") for _, _, text in result["after"]["groups"] for item in text.split(", "))
    assert rules["wintrust-offline-revocation"] == "1"
