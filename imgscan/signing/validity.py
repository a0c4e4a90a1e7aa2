"""When a catalog's signature is valid, judged the way WinVerifyTrust judges it.

Chain time rules (each has a test in tests/unit/test_validity_rules.py):

1. A usable timestamp makes Windows check the signer chain *as of the timestamp
   time*, so the signature stays valid after the signer certificate (or an
   intermediate CA) expires. Source: Microsoft, "Windows Authenticode Portable
   Executable Signature Format" (time stamping section) and the CERT_E_EXPIRED
   text in winerror.h ("...when verifying against the current system clock or
   the timestamp in the signed file").
2. The TSA chain is judged at the same moment, the timestamp time: a TSA or
   time-stamping CA that expires later does not end the signature. Source: the
   same document; RFC 3161 section 4 (a token is verified against the TSA
   certificate valid at genTime).
3. Usable = the timestamp's own signature verifies (an Authenticode
   countersignature may carry the bare digest of legacy VeriSign/Symantec
   services, see `certs.verify_signature`), its TSA chain reaches a trusted
   root and is valid at that time, and the TSA certificate has the
   timestamping EKU. A TSA certificate without that EKU makes the timestamp
   count as absent, unless KB2749655 (Vista/7/2008/2008 R2) or KB2756872
   (8/2012) is installed (Advisory 2749655).
4. The lifetime-signing EKU on the signer makes the timestamp irrelevant: the
   signature ends with the certificate (Microsoft, "Cryptography Tools":
   szOID_KP_LIFETIME_SIGNING).
5. Without a usable timestamp the whole chain must be valid *on the evaluation
   day*: the signature is valid from the latest notBefore to the earliest
   notAfter of the chain and fails with CERT_E_EXPIRED (0x800B0101) after
   that (../shared/domain.md, "Catalog files"; the KB2705219 incident).
6. A chain that reaches no trusted root, or a signature that does not verify,
   is never valid (CERT_E_UNTRUSTEDROOT / TRUST_E_BAD_DIGEST): reported, not guessed.
7. A certificate of the image's Disallowed store anywhere in the signer or
   TSA chain ends the signature from the day the entry was written (the
   key's last-write time): CERT_E_REVOKED 0x800B010C on Windows 7, which the
   chain engine reports for distrusted certificates; Windows 8 and later may
   report TRUST_E_EXPLICIT_DISTRUST 0x800B0111 (Advisory 2718704).
8. Dual-signed catalogs: WinVerifyTrust verifies the primary signature unless
   the caller asks for another one (WINTRUST_SIGNATURE_SETTINGS, Windows 8 and
   later; Windows 7 has no such setting), and CBS asks for the default. So the
   verdict follows the primary signature on Windows 7 and Windows 10 alike;
   every nested signature is judged on its own and listed in the evidence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from imgscan.signing.catalog import Catalog, Timestamp
from imgscan.signing.certs import EKU_LIFETIME_SIGNING, EKU_TIMESTAMPING, Cert, CertCache, iso
from imgscan.signing.trust_store import TrustStore

MAX_CHAIN = 8
CAUSES = (
    "timestamped",  # a usable timestamp: no end
    "tsa-without-eku-accepted",  # usable only thanks to KB2749655/KB2756872
    "no-timestamp",
    "tsa-without-eku",  # Advisory 2749655: fixed by KB2749655/KB2756872
    "timestamp-unusable",
    "lifetime-signing",
    "untrusted-root",
    "disallowed",  # a certificate of the chain is in the image's Disallowed store
    "bad-signature",
    "unsigned",
)
CERT_E_EXPIRED = "0x800B0101"
CERT_E_UNTRUSTEDROOT = "0x800B0109"
TRUST_E_BAD_DIGEST = "0x80096010"
TRUST_E_NOSIGNATURE = "0x800B0100"
CERT_E_REVOKED = "0x800B010C"


@dataclass(frozen=True)
class Chain:
    certs: tuple[Cert, ...]  # signer first, trusted root last
    anchor_source: str | None  # None: no trusted root reached
    problem: str | None

    @property
    def not_before(self) -> datetime:
        return max(c.not_before for c in self.certs)

    @property
    def not_after(self) -> datetime:
        return min(c.not_after for c in self.certs)

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment <= self.not_after


@dataclass(frozen=True)
class Verdict:
    status: str  # "valid", "expires", "revoked", "untrusted", "bad-signature", "unsigned"
    cause: str  # machine-readable why: see CAUSES
    valid_from: datetime | None
    valid_until: datetime | None  # None: no end
    reason: str
    hresult: str | None  # the error Windows returns once the signature is invalid
    mitigation: str | None = None  # the KB that changed this verdict, if any
    root_source: str | None = None

    @property
    def never_valid(self) -> bool:
        return self.status in ("untrusted", "bad-signature") or (self.status == "revoked" and self.valid_until is None)

    def fails_at(self) -> datetime | None:
        """The first moment (UTC) at which the signature fails; None when it never does or never worked."""
        if self.never_valid or self.valid_until is None:
            return None
        return self.valid_until + timedelta(seconds=1)

    def starts(self) -> date | None:
        """The first (UTC) day on which the signature fails; None when it never does or never worked."""
        moment = self.fails_at()
        return moment.date() if moment else None

    def as_dict(self) -> dict[str, object]:
        """The verdict as reports show it: a fresh dict each time, worked out once per verdict (a cache's
        catalogs share a handful of verdict objects, see verdict_codec.Decoder)."""
        return dict(self._as_dict)

    @cached_property
    def _as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "cause": self.cause,
            "valid_from": iso(self.valid_from),
            "valid_until": iso(self.valid_until),
            "reason": self.reason,
            "hresult": self.hresult,
            "mitigation": self.mitigation,
            "root": self.root_source,
        }


class Judge:
    """Judges catalogs against one image's trust store and installed mitigations (chains memoised)."""

    def __init__(self, store: TrustStore, cache: CertCache, mitigation: str | None) -> None:
        self.store = store
        self.cache = cache
        self.mitigation = mitigation  # "KB2749655" / "KB2756872" when installed in the image
        self._chains: dict[tuple[str, frozenset[str]], Chain] = {}
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        """What, besides a catalog's bytes, decides its verdicts: the trusted roots with their stores, the
        Disallowed entries with their dates, and the installed mitigation (the fleet's verdict cache key)."""
        if self._fingerprint is None:
            digest = hashlib.sha256(repr((self.mitigation, self.store.image_stores_read)).encode())
            for entries in self.store.trusted():
                for thumbprint, source in entries:
                    digest.update(f"{thumbprint}|{source}\n".encode())
            for thumbprint, entry in sorted(self.store.disallowed.items()):
                digest.update(f"disallowed {thumbprint}|{entry.source}|{entry.since}\n".encode())
            self._fingerprint = digest.hexdigest()[:32]
        return self._fingerprint

    def chain(self, leaf: Cert, pool: tuple[Cert, ...]) -> Chain:
        key = (leaf.thumbprint, frozenset(c.thumbprint for c in pool))
        found = self._chains.get(key)
        if found is None:
            found = self._chains[key] = self._build(leaf, pool)
        return found

    def _build(self, leaf: Cert, pool: tuple[Cert, ...]) -> Chain:
        path = [leaf]
        current = leaf
        for _ in range(MAX_CHAIN):
            for anchor, source in self.store.issuers_of(current):
                if self.cache.signed_by(current, anchor):
                    if anchor.der != current.der:
                        path.append(anchor)
                    return Chain(tuple(path), source, None)
            if self.store.source_of(current):
                return Chain(tuple(path), self.store.source_of(current), None)
            issuer = next(
                (
                    c
                    for c in pool
                    if c.subject_der == current.issuer_der and c.der != current.der and self.cache.signed_by(current, c)
                ),
                None,
            )
            if issuer is None:
                break
            path.append(issuer)
            current = issuer
        top = path[-1]
        where = (
            "not in the image's ROOT/AuthRoot stores nor the bundled set"
            if self.store.image_stores_read
            else "not in the bundled set; the image's own ROOT/AuthRoot stores could not be read"
        )
        problem = f"no trusted root for {top.issuer!r} ({where})"
        return Chain(tuple(path), None, problem)

    def judge_all(self, catalog: Catalog) -> list[Verdict]:
        """The verdict of every signature: the primary first, then each nested one."""
        return [self.judge(catalog), *(self.judge(inner) for inner in catalog.nested)]

    def judge(self, catalog: Catalog) -> Verdict:
        """The verdict of the catalog's primary signature (rule 8: the one Windows verifies)."""
        verdict = self._judge(catalog)
        return self._distrust(catalog, verdict) or verdict

    def _distrust(self, catalog: Catalog, verdict: Verdict) -> Verdict | None:
        """Rule 7: a revoked verdict when a certificate of the signer or TSA chain is disallowed."""
        if not self.store.disallowed or catalog.signer is None:
            return None
        chains = [self.chain(catalog.signer, catalog.certificates)]
        stamp = catalog.timestamp
        if stamp is not None and stamp.signer is not None:
            chains.append(self.chain(stamp.signer, stamp.certificates))
        hits = [
            self.store.disallowed[c.thumbprint] for chain in chains for c in chain.certs if c.thumbprint in self.store.disallowed
        ]
        if not hits:
            return None
        dated = [h.since for h in hits if h.since is not None]
        since = min(dated) if len(dated) == len(hits) else None
        first = hits[0]
        when = f"since {iso(since)}" if since else "since an unknown day"
        reason = (
            f"{first.cert.common_name!r} (thumbprint {first.cert.thumbprint}) is in the image's Disallowed store "
            f"({first.source}, {when}): Windows refuses every signature whose chain contains it"
        )
        until = since - timedelta(seconds=1) if since else None
        return Verdict(
            "revoked", "disallowed", verdict.valid_from, until, reason, CERT_E_REVOKED, root_source=verdict.root_source
        )

    def _judge(self, catalog: Catalog) -> Verdict:
        if not catalog.signed:
            return Verdict("unsigned", "unsigned", None, None, "unsigned catalog: it vouches for nothing", TRUST_E_NOSIGNATURE)
        if catalog.problem or catalog.signer is None:
            return Verdict("bad-signature", "bad-signature", None, None, catalog.problem or "no signer", TRUST_E_BAD_DIGEST)
        chain = self.chain(catalog.signer, catalog.certificates)
        if chain.problem:
            return Verdict("untrusted", "untrusted-root", None, None, chain.problem, CERT_E_UNTRUSTEDROOT)
        signer = catalog.signer

        def expires(cause: str, reason: str) -> Verdict:
            return Verdict(
                "expires",
                cause,
                chain.not_before,
                chain.not_after,
                f"{reason} (until {iso(chain.not_after)})",
                CERT_E_EXPIRED,
                root_source=chain.anchor_source,
            )

        if EKU_LIFETIME_SIGNING in signer.ekus:
            return expires(
                "lifetime-signing",
                "signer has the lifetime-signing EKU: the signature ends with the certificate, timestamp or not",
            )
        stamp = catalog.timestamp
        if stamp is None:
            return expires("no-timestamp", "no timestamp: valid only while the signer certificate is valid")
        unusable = self._unusable(stamp, chain)
        if unusable:
            return expires("timestamp-unusable", f"{_kind(stamp.kind)} timestamp unusable ({unusable}): treated as no timestamp")
        assert stamp.signer is not None and stamp.time is not None
        usable = f"{_kind(stamp.kind)} timestamp {iso(stamp.time)} by {stamp.signer.common_name!r}"
        if EKU_TIMESTAMPING not in stamp.signer.ekus:
            if not self.mitigation:
                return expires(
                    "tsa-without-eku",
                    f"{usable}, whose certificate lacks the timestamping EKU: treated as "
                    f"no timestamp (neither KB2749655 nor KB2756872 is installed)",
                )
            return Verdict(
                "valid",
                "tsa-without-eku-accepted",
                stamp.time,
                None,
                f"{usable} lacks the timestamping EKU but is accepted because {self.mitigation} is installed; "
                f"valid after the signer expires ({iso(chain.not_after)})",
                None,
                mitigation=self.mitigation,
                root_source=chain.anchor_source,
            )
        return Verdict(
            "valid",
            "timestamped",
            stamp.time,
            None,
            f"{usable}: valid after the signer expires ({iso(chain.not_after)})",
            None,
            root_source=chain.anchor_source,
        )

    def _unusable(self, stamp: Timestamp, chain: Chain) -> str | None:
        """Why a timestamp cannot carry the signature past the signer's expiry (None: it can)."""
        if stamp.problem:
            return stamp.problem
        if stamp.signer is None or stamp.time is None:
            return "no TSA certificate or time"
        if not chain.valid_at(stamp.time):
            return "the signer chain was not valid at the timestamp time"
        tsa_chain = self.chain(stamp.signer, stamp.certificates)
        if tsa_chain.problem:
            return f"TSA chain: {tsa_chain.problem}"
        if not tsa_chain.valid_at(stamp.time):
            return "the TSA chain was not valid at the timestamp time"
        return None


def _kind(kind: str) -> str:
    return "RFC 3161" if kind == "rfc3161" else "Authenticode"
