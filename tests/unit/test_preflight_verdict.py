"""The preflight engine on in-memory facts: each verdict and each blocking reason, the day an update stops
installing, and the install order. No image, no cabinet, no Debian tool: the update is its parsed manifests
and catalogs, the image is an `ImageFacts`, and the catalog judge is a stand-in that returns a given verdict."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from imgscan.preflight.facts import ImageFacts, InstalledPackage, Service
from imgscan.preflight.manifest import Identity, parse_manifest
from imgscan.preflight.order import plan
from imgscan.preflight.package import CatalogFile, UpdatePackage
from imgscan.preflight.verdict import judge
from imgscan.signing.cab_signature import CabSignature
from imgscan.signing.catalog import Catalog
from imgscan.signing.validity import Verdict as SignatureVerdict
from sample_images.updates import UpdateSpec, _mum

AS_OF = date(2020, 3, 1)
HORIZON = date(2021, 3, 1)
TOKEN = "31bf3856ad364e35"
VALID = SignatureVerdict("valid", "timestamped", None, None, "timestamped", None)


class StandIn:
    """Judges every catalog the same way (or by file name)."""

    def __init__(self, verdict: SignatureVerdict = VALID, by_path: dict[str, SignatureVerdict] | None = None) -> None:
        self.verdict, self.by_path = verdict, by_path or {}

    def judge(self, catalog: Catalog) -> SignatureVerdict:
        return self.by_path.get(catalog.path, self.verdict)


def package(name: str, version: tuple[int, ...] = (6, 1, 7601, 17514), problems: tuple[str, ...] = ()) -> InstalledPackage:
    identity = Identity(name, version, "amd64", "neutral", TOKEN)
    return InstalledPackage(identity, identity.cbs_identity, "Installed", True, None, problems, f"{name}.mum")


BASE = (package("Microsoft-Windows-Foundation-Package"), package("Microsoft-Windows-Client-Features-Package"))


def facts(**changes: object) -> ImageFacts:
    made = ImageFacts(
        windows_version="6.1",
        build=7601,
        product="Windows 7 Enterprise Service Pack 1 (build 7601)",
        architecture="amd64",
        architecture_source="test",
        packages=BASE,
        sha2_support="KB4474419",
        ssus=("KB4490628",),
        esu_licensing="KB4538483",
        pending=(),
        free_bytes=10 << 30,
        free_bytes_source="test volume",
        services=(Service("wuauserv", 3, r"SYSTEM\ControlSet001\Services\wuauserv"),),
        judge=StandIn(),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def catalog(path: str, digest: str, members: frozenset[bytes]) -> Catalog:
    return Catalog(path, "", True, digest, None, (), None, None, None, len(members), None, members=members)


def update(spec: UpdateSpec, payload: int = 4096, cover: bool = True) -> UpdatePackage:
    top = parse_manifest("update.mum", _mum(spec, f"Package_for_{spec.kb}", f"Package_1_for_{spec.kb}"))
    child_file = f"package_1_for_{spec.kb.lower()}~{TOKEN}~{spec.arch}~~{spec.version}.mum"
    child = parse_manifest(child_file, _mum(spec, f"Package_1_for_{spec.kb}", None))
    catalogs = tuple(
        CatalogFile(m.file[:-4] + ".cat", catalog(m.file[:-4] + ".cat", spec.digest, m.digests if cover else frozenset()))
        for m in (top, child)
    )
    return UpdatePackage(f"{spec.file_name}", "0" * 64, spec.container, {}, (top, child), catalogs, payload)


def test_an_update_whose_parent_is_installed_installs_and_says_what_it_registers():
    verdict = judge(update(UpdateSpec("KB9900010", restart="required")), facts(), AS_OF, HORIZON)
    assert verdict.status == "installs" and verdict.reasons == () and verdict.hresult is None
    assert verdict.registers == (
        f"Package_1_for_KB9900010~{TOKEN}~amd64~~6.1.1.0",
        f"Package_for_KB9900010~{TOKEN}~amd64~~6.1.1.0",
    )
    assert verdict.restart == "required" and verdict.release_type == "Update"


def test_wrong_architecture_is_not_applicable():
    verdict = judge(update(UpdateSpec("KB9900011", arch="x86")), facts(), AS_OF, HORIZON)
    assert (verdict.status, verdict.hresult, [r.code for r in verdict.reasons]) == (
        "not-applicable",
        "0x80240017",
        ["wrong-architecture"],
    )


def test_a_missing_parent_is_named():
    spec = UpdateSpec("KB9900012", parent=("Microsoft-Windows-TabletPC-OC-Package", "6.1.7601.17514"))
    verdict = judge(update(spec), facts(), AS_OF, HORIZON)
    assert verdict.status == "not-applicable" and verdict.hresult == "0x80240017"
    assert "Microsoft-Windows-TabletPC-OC-Package 6.1.7601.17514" in verdict.reasons[0].message


def test_a_parent_of_another_build_is_the_wrong_build():
    spec = UpdateSpec("KB9900013", parent=("Microsoft-Windows-Client-Features-Package", "6.1.7600.16385"))
    verdict = judge(update(spec), facts(), AS_OF, HORIZON)
    assert [r.code for r in verdict.reasons] == ["wrong-windows-build"]


def test_service_compare_ge_accepts_a_later_revision_of_the_parent():
    later = facts(packages=(package("Microsoft-Windows-Client-Features-Package", (6, 1, 7601, 24000)),))
    assert judge(update(UpdateSpec("KB9900014")), later, AS_OF, HORIZON).status == "installs"


def test_already_installed_and_superseded():
    spec = UpdateSpec("KB9900015")
    same = package("Package_for_KB9900015", (6, 1, 1, 0))
    higher = package("Package_for_KB9900015", (6, 1, 2, 0))
    installed = judge(update(spec), facts(packages=(*BASE, same)), AS_OF, HORIZON)
    superseded = judge(update(spec), facts(packages=(*BASE, higher)), AS_OF, HORIZON)
    assert (installed.status, installed.hresult) == ("installed", "0x00240006")
    assert (superseded.status, superseded.hresult) == ("superseded", "0x80240017")


def test_every_blocking_reason_is_listed_not_only_the_first():
    broken_parent = package("Microsoft-Windows-Client-Features-Package", problems=("CBS Catalog Missing: x.cat",))
    image = facts(
        packages=(BASE[0], broken_parent),
        sha2_support=None,
        ssus=(),
        esu_licensing=None,
        pending=(r"Windows\WinSxS\pending.xml: pending.xml",),
        free_bytes=1000,
        services=(Service("wuauserv", 4, r"SYSTEM\ControlSet001\Services\wuauserv"),),
    )
    verdict = judge(update(UpdateSpec("KB4528069", digest="sha256"), payload=5000), image, AS_OF, HORIZON)
    assert verdict.status == "will-not-install"
    assert [(r.code, r.hresult) for r in verdict.reasons] == [
        ("sha2-support-missing", "0x80092004"),
        ("servicing-stack-too-old", "0x80092004"),
        ("servicing-pending", "0x800F0806"),
        ("component-store-corrupt", "0x800F081F"),
        ("esu-prerequisites-missing", "0xC004F050"),
        ("not-enough-space", "0x80070070"),
        ("update-service-disabled", "0x80070422"),
    ]
    assert all(r.fix and r.evidence and all("path" in e for e in r.evidence) for r in verdict.reasons)


def test_sha2_only_installs_once_sha2_support_and_an_ssu_are_there():
    sha2 = update(UpdateSpec("KB9900016", digest="sha256"))
    assert judge(sha2, facts(), AS_OF, HORIZON).status == "installs"
    assert [r.code for r in judge(sha2, facts(ssus=()), AS_OF, HORIZON).reasons] == ["servicing-stack-too-old"]


def test_a_catalog_that_expires_within_the_horizon_installs_now_and_fails_from_that_day():
    ends = datetime(2020, 6, 30, 10, tzinfo=timezone.utc)
    expires = SignatureVerdict("expires", "no-timestamp", None, ends, "no timestamp", "0x800B0101")
    image = facts(judge=StandIn(expires))
    today = judge(update(UpdateSpec("KB9900017")), image, AS_OF, HORIZON)
    assert today.status == "installs" and today.fails_from == date(2020, 6, 30)
    assert [(r.code, r.hresult, r.starts) for r in today.later] == [("catalog-expired", "0x800B0101", date(2020, 6, 30))]
    in_july = judge(update(UpdateSpec("KB9900017")), image, date(2020, 7, 1), date(2021, 7, 1))
    assert in_july.status == "will-not-install" and in_july.hresult == "0x800B0101"
    beyond = judge(update(UpdateSpec("KB9900017")), image, AS_OF, date(2020, 4, 1))
    assert beyond.status == "installs" and beyond.fails_from is None


def test_an_untrusted_catalog_fails_with_its_code():
    untrusted = SignatureVerdict("untrusted", "untrusted-root", None, None, "no trusted root", "0x800B0109")
    verdict = judge(update(UpdateSpec("KB9900018")), facts(judge=StandIn(untrusted)), AS_OF, HORIZON)
    assert [(r.code, r.hresult) for r in verdict.reasons] == [("catalog-untrusted", "0x800B0109")]


def test_a_manifest_no_catalog_lists_fails():
    verdict = judge(update(UpdateSpec("KB9900019"), cover=False), facts(), AS_OF, HORIZON)
    assert [(r.code, r.hresult) for r in verdict.reasons] == [("manifest-not-in-catalog", "0x800B0100")]


def test_unknown_free_space_is_a_note_never_a_guess():
    verdict = judge(
        update(UpdateSpec("KB9900020"), payload=1 << 40), facts(free_bytes=None, free_bytes_source="a WIM"), AS_OF, HORIZON
    )
    assert verdict.status == "installs"
    assert any("free space not checked" in n for n in verdict.notes)


SIGNED = CabSignature("sha1", b"\x01" * 20, b"\x01" * 20, None, "Microsoft Corporation", "00" * 32)
CHANGED = replace(SIGNED, file_digest=b"\x02" * 20)
NOT_VERIFYING = replace(SIGNED, problem="signature does not verify with the signer certificate's key")


def test_an_update_whose_signature_matches_is_judged_on_what_it_holds():
    assert judge(replace(update(UpdateSpec("KB9900030")), signature=SIGNED), facts(), AS_OF, HORIZON).status == "installs"


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (CHANGED, "Windows6.1-KB9900031-x86.msu is not the file its Authenticode signature vouches for: its SHA-1 digest"),
        (NOT_VERIFYING, "Windows6.1-KB9900031-x86.msu's Authenticode signature does not verify: signature does not verify"),
    ],
)
def test_an_update_that_does_not_match_its_signature_will_not_install_whatever_it_holds(signature, message):
    """WUSA verifies the file before it reads anything in it: the one reason is the signature's, asked before
    applicability (this x86 update on an amd64 image was not-applicable), and it stays out of the order."""
    changed = replace(update(UpdateSpec("KB9900031", arch="x86")), signature=signature)
    verdict = judge(changed, facts(), AS_OF, HORIZON)
    assert (verdict.status, verdict.hresult, verdict.summary) == (
        "will-not-install",
        "0x80096010",
        "will not install: 1 reason(s), first 0x80096010",
    )
    [reason] = verdict.reasons
    assert reason.code == "update-signature-invalid" and reason.message.startswith(message) and reason.fix
    assert reason.evidence == (
        {
            "path": changed.path,
            "digest_algorithm": "sha1",
            "signed_digest": "01" * 20,
            "file_digest": signature.file_digest.hex(),
            "signer": "Microsoft Corporation",
        },
    )
    result = plan([changed, update(UpdateSpec("KB9900032"))], facts(), AS_OF, HORIZON)
    assert [s.update.kb for s in result.steps] == ["KB9900032"]
    assert [(v.kb, v.status) for v in result.blocked] == [("KB9900031", "will-not-install")]


@pytest.mark.parametrize("missing", ["sha2", "ssu"])
def test_the_order_puts_what_the_others_need_first(missing):
    ssu = update(UpdateSpec("KB4490628", servicing_stack=True))
    support = update(UpdateSpec("KB4474419", version="6.1.2.2"))
    sha2_only = update(UpdateSpec("KB9900021", digest="sha256"))
    x86 = update(UpdateSpec("KB9900022", arch="x86"))
    image = facts(sha2_support=None, ssus=())
    result = plan([sha2_only, x86, support, ssu], image, AS_OF, HORIZON)
    assert [s.update.kb for s in result.steps] == ["KB4490628", "KB4474419", "KB9900021"]
    assert result.steps[2].after == (ssu.path, support.path)
    assert [(v.kb, v.status) for v in result.blocked] == [("KB9900022", "not-applicable")]
    without = [u for u in (sha2_only, support, ssu) if u.kb != {"sha2": "KB4474419", "ssu": "KB4490628"}[missing]]
    partial = plan(without, image, AS_OF, HORIZON)
    assert [(v.kb, v.status) for v in partial.blocked] == [("KB9900021", "will-not-install")]


def test_an_update_whose_parent_another_update_brings_comes_after_it():
    feature = update(UpdateSpec("KB9900023"))
    dependant = update(UpdateSpec("KB9900024", parent=("Package_1_for_KB9900023", "6.1.1.0")))
    assert judge(dependant, facts(), AS_OF, HORIZON).status == "not-applicable"
    result = plan([dependant, feature], facts(), AS_OF, HORIZON)
    assert [s.update.kb for s in result.steps] == ["KB9900023", "KB9900024"]
    assert result.steps[1].after == (feature.path,)


def test_a_manifest_built_for_a_newer_servicing_stack_fails_with_the_code_cbs_gives():
    needs = update(UpdateSpec("KB9900025", needs_stack="6.1.7601.24516"))
    image = facts(servicing_stack=(6, 1, 7601, 24000), servicing_stack_source="KB4490628.mum", servicing_stack_basis="its SSU")
    older = judge(needs, image, AS_OF, HORIZON)
    assert (older.status, older.hresult, [r.code for r in older.reasons]) == (
        "will-not-install",
        "0x800F0823",
        ["servicing-stack-too-old"],
    )
    reason = older.reasons[0]
    assert (
        "needs Microsoft-Windows-ServicingStack 6.1.7601.24516 or later and has 6.1.7601.24000 (its SSU: KB4490628.mum)"
        in reason.message
    )
    assert "Windows Modules Installer must be updated" in reason.message and "update.mum" in reason.message
    # judged on 2020-03-01 (AS_OF), the fix names February 2020's SSU, not December 2020's, released nine months later
    assert "6.1.7601.24516" in reason.fix and "KB4592510" not in reason.fix
    assert "KB4537829 of February 2020, the newest imgscan lists up to 2020-03-01" in reason.fix
    late = judge(needs, image, date(2021, 6, 1), HORIZON).reasons[0].fix
    assert "KB4592510 of December 2020, the newest imgscan lists up to 2021-06-01" in late
    assert "(for Windows" not in judge(needs, image, date(2019, 1, 1), HORIZON).reasons[0].fix  # before any listed
    assert any(s.endswith("troubleshoot-windows-update-error-0x800f0823") for s in reason.references)
    assert {e["path"] for e in reason.evidence} == {f"{needs.path}!update.mum", "KB4490628.mum"}
    assert judge(needs, facts(servicing_stack=(6, 1, 7601, 24516)), AS_OF, HORIZON).status == "installs"
    unknown = judge(needs, facts(servicing_stack_basis="nothing says"), AS_OF, HORIZON)
    assert unknown.status == "installs"
    assert "servicing stack version not checked (update.mum needs 6.1.7601.24516): nothing says" in unknown.notes


def test_one_reason_names_every_fact_by_which_the_stack_is_too_old_with_the_first_code_windows_meets():
    # KB4528069: its page wants the SSU of February 2020 (KB4537829, servicing_stacks.toml); here also signed with
    # SHA-2 only, and built for a newer stack than the image runs
    spec = UpdateSpec("KB4528069", digest="sha256", needs_stack="6.1.7601.24516")
    bare = judge(update(spec), facts(ssus=(), servicing_stack=(6, 1, 7601, 17514)), AS_OF, HORIZON)
    stack = [r for r in bare.reasons if r.code == "servicing-stack-too-old"]
    assert len(stack) == 1 and stack[0].hresult == "0x80092004" and stack[0].message.count("; it needs ") == 2
    assert "KB4537829" in stack[0].fix and "6.1.7601.24516" in stack[0].fix
    assert stack[0].fix.count("KB4537829") == 1, stack[0].fix  # the newest out by then, as the manifest's example too
    assert "KB4490628" not in stack[0].fix  # the February 2020 SSU fulfils SHA-2's need for one of March 2019 too
    march = judge(update(spec), facts(ssus=("KB4490628",), servicing_stack=(6, 1, 7601, 24516)), AS_OF, HORIZON)
    assert [(r.code, r.hresult) for r in march.reasons] == [("servicing-stack-too-old", "0x80070643")]
    assert "it needs servicing stack update KB4537829 of February 11, 2020 or a later one and has KB4490628 of March 2019" in (
        march.reasons[0].message
    )
    later = facts(ssus=("KB4490628", "KB4592510"), servicing_stack=(6, 1, 7601, 24516))
    assert judge(update(spec), later, AS_OF, HORIZON).status == "installs"
    other_kb = replace(spec, kb="KB9900027")
    assert judge(update(other_kb), facts(servicing_stack=(6, 1, 7601, 24516)), AS_OF, HORIZON).status == "installs"


def test_a_servicing_stack_update_of_the_folder_comes_before_the_update_built_for_its_stack():
    newer = update(UpdateSpec("KB4537829", servicing_stack=True, stack_version="6.1.7601.24548"))
    older = update(UpdateSpec("KB4523206", servicing_stack=True, stack_version="6.1.7601.24500"))
    needs = update(UpdateSpec("KB9900026", needs_stack="6.1.7601.24516"))
    image = facts(servicing_stack=(6, 1, 7601, 24000))
    result = plan([needs, newer], image, AS_OF, HORIZON)
    assert [s.update.kb for s in result.steps] == ["KB4537829", "KB9900026"] and result.steps[1].after == (newer.path,)
    stuck = plan([needs, older], image, AS_OF, HORIZON)
    assert [s.update.kb for s in stuck.steps] == ["KB4523206"]
    assert [(v.kb, v.hresult) for v in stuck.blocked] == [("KB9900026", "0x800F0823")]
    assert "has 6.1.7601.24500 (installed before: Windows6.1-KB4523206-x64.msu)" in stuck.blocked[0].reasons[0].message


@pytest.mark.parametrize(
    ("installed", "status"), [((), "will-not-install"), (("KB3177467",), "installs"), (("KB3177467", "KB4490628"), "installs")]
)
def test_the_september_2018_rollup_needs_kb3177467_or_a_later_servicing_stack_update(installed, status):
    verdict = judge(
        update(UpdateSpec("KB4457144", release_type="Security Update")), facts(ssus=(), all_ssus=installed), AS_OF, HORIZON
    )
    assert verdict.status == status
    if status == "will-not-install":
        assert [(r.code, r.hresult) for r in verdict.reasons] == [("servicing-stack-too-old", "0x8000FFFF")]
        assert "servicing stack update KB3177467 of September 20, 2016 or a later one and has none" in verdict.reasons[0].message
        assert any("techcommunity.microsoft.com" in s for s in verdict.reasons[0].references)
