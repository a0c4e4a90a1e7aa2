"""The facts the differential tests compare, read from one signature by imgscan and by `osslsigncode verify`.

Catalogs and PE files (boot managers) carry the same PKCS#7 signatures, so both readers' facts are the
same fields: signed or not, digest algorithm, signer certificate serial, timestamp time and TSA
certificate serial, whether the timestamp verifies and whether the whole signature verifies at the
moment it must hold at. osslsigncode runs with `-time` set to that moment, a CA file for both chains,
and without CRLs, so that a disagreement means the two readers judge the same signature differently.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from imgscan.signing.catalog import Catalog
from imgscan.signing.certs import EKU_TIMESTAMPING
from imgscan.signing.validity import Judge


@dataclass(frozen=True)
class Facts:
    signed: bool
    digest: str | None = None
    signer_serial: str | None = None
    timestamp_time: str | None = None
    tsa_serial: str | None = None
    timestamp_ok: bool | None = None
    signature_ok: bool | None = None


def moment(signature: Catalog) -> datetime:
    """When the signature must hold: just after its timestamp, else a day after the signer's notBefore."""
    if signature.timestamp and signature.timestamp.time:
        return signature.timestamp.time + timedelta(seconds=1)
    assert signature.signer is not None
    return signature.signer.not_before + timedelta(days=1)


def imgscan_facts(signature: Catalog, judge: Judge, at: datetime | None = None) -> Facts:
    """imgscan's reading of a parsed signature (a catalog's, or a PE's WIN_CERTIFICATE entry), judged at
    `at` (default: `moment`)."""
    if not signature.signed:
        return Facts(signed=False)
    assert signature.signer is not None
    at = at or moment(signature)
    chain = judge.chain(signature.signer, signature.certificates)
    stamp = signature.timestamp
    timestamp_ok = None
    if stamp is not None:
        # usable as a timestamp: it verifies, its chain holds at its time, and the TSA may stamp
        tsa_chain = judge.chain(stamp.signer, stamp.certificates) if stamp.signer else None
        timestamp_ok = bool(
            stamp.problem is None
            and tsa_chain
            and not tsa_chain.problem
            and stamp.time
            and tsa_chain.valid_at(stamp.time)
            and EKU_TIMESTAMPING in stamp.signer.ekus
        )
    return Facts(
        signed=True,
        digest=signature.digest_algorithm,
        signer_serial=f"{signature.signer.serial:X}",
        timestamp_time=stamp.time.strftime("%Y-%m-%d %H:%M:%S") if stamp and stamp.time else None,
        tsa_serial=f"{stamp.signer.serial:X}" if stamp and stamp.signer else None,
        timestamp_ok=timestamp_ok,
        signature_ok=signature.problem is None and not chain.problem and chain.valid_at(at),
    )


def osslsigncode_facts(path: Path, bundle: Path, at: datetime | None) -> tuple[Facts, str]:
    """osslsigncode's reading of the file's primary signature, and its whole report."""
    args = ["osslsigncode", "verify", "-in", str(path), "-CAfile", str(bundle), "-TSA-CAfile", str(bundle), "-ignore-crl"]
    if at is not None:
        args += ["-time", str(int(at.timestamp()))]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120)
    out = run.stdout
    if "Signature Index: 0" not in out:
        assert "No signature found" in run.stderr, run.stderr  # unsigned, not a crash of the reader
        return Facts(signed=False), out
    primary = out.split("Signature Index: 1")[0]  # the primary signature's section
    signer = re.search(r"Signer's certificate:.*?Serial : (-?[0-9A-F]+)", primary, re.S)
    digest = re.search(r"Message digest algorithm: (\w+)", primary)
    stamp_time = re.search(r"Timestamp time: (\w+ +\d+ [\d:]+ \d+) GMT", primary)
    tsa = re.search(r"Countersignatures:.*?\n\s*Serial: (-?[0-9A-F]+)", primary, re.S)
    ts_result = re.search(r"Timestamp Server Signature verification: (\w+)", primary)
    result = re.search(r"^Signature verification: (\w+)", primary, re.M)
    when = datetime.strptime(" ".join(stamp_time.group(1).split()), "%b %d %H:%M:%S %Y") if stamp_time else None
    return Facts(
        signed=True,
        digest=digest.group(1).lower() if digest else None,
        signer_serial=_serial(signer.group(1)) if signer else None,
        timestamp_time=when.strftime("%Y-%m-%d %H:%M:%S") if when else None,
        tsa_serial=_serial(tsa.group(1)) if tsa else None,
        timestamp_ok=(ts_result.group(1) == "ok") if ts_result else None,
        signature_ok=(result.group(1) == "ok") if result else None,
    ), out


def image_digests(out: str) -> tuple[str, str]:
    """The PE image hash a signature vouches for and the one osslsigncode computed ("Current" and
    "Calculated message digest"), upper-case hex."""
    current = re.search(r"Current message digest\s*:\s*([0-9A-F]+)", out)
    calculated = re.search(r"Calculated message digest\s*:\s*([0-9A-F]+)", out)
    assert current and calculated, out
    return current.group(1), calculated.group(1)


def _serial(text: str) -> str:
    """osslsigncode prints serials as signed hex with leading zeros; normalise as imgscan's f"{n:X}"."""
    return f"{int(text, 16):X}"


def differences(name: str, mine: Facts, theirs: Facts, allowed: Collection[str] = ()) -> tuple[list[str], set[str]]:
    """(each fact the readers disagree on and that is not `allowed`, in one line; the allowed ones that differ)."""
    wrong: list[str] = []
    excused: set[str] = set()
    for fact in Facts.__dataclass_fields__:
        ours, other = getattr(mine, fact), getattr(theirs, fact)
        if ours != other and fact in allowed:
            excused.add(fact)
        elif ours != other:
            wrong.append(f"{name}: {fact}: imgscan {ours!r}, osslsigncode {other!r}")
    return wrong, excused
