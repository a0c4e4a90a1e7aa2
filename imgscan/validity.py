"""When a catalog's signature is valid, judged the way WinVerifyTrust judges it.

Rules (../shared/domain.md, "Catalog files"; Advisory 2749655):
- A usable timestamp makes Windows check the chain as of the timestamp time,
  so the signature stays valid after the signer certificate expires.
  Usable = the timestamp verifies, its TSA chain is valid at that time and
  reaches a trusted root, and the TSA certificate has the timestamping EKU.
- A TSA certificate without the timestamping EKU makes the timestamp count as
  absent, unless KB2749655 (Vista/7/2008/2008 R2) or KB2756872 (8/2012) is
  installed, which make WinVerifyTrust accept those timestamps.
- The lifetime-signing EKU on the signer makes the timestamp irrelevant: the
  signature ends with the certificate.
- Without a usable timestamp the whole chain must be valid *now*: the
  signature is valid from the latest notBefore to the earliest notAfter of the
  chain and fails with CERT_E_EXPIRED (0x800B0101) after that.
- A chain that reaches no trusted root, or a signature that does not verify,
  is never valid (CERT_E_UNTRUSTEDROOT / TRUST_E_BAD_DIGEST): reported, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from imgscan.catalog import Catalog, Timestamp
from imgscan.certs import EKU_LIFETIME_SIGNING, EKU_TIMESTAMPING, Cert, CertCache, iso
from imgscan.trust_store import TrustStore

MAX_CHAIN = 8
CAUSES = (
    "timestamped",  # a usable timestamp: no end
    "tsa-without-eku-accepted",  # usable only thanks to KB2749655/KB2756872
    "no-timestamp",
    "tsa-without-eku",  # Advisory 2749655: fixed by KB2749655/KB2756872
    "timestamp-unusable",
    "lifetime-signing",
    "untrusted-root",
    "bad-signature",
    "unsigned",
)
CERT_E_EXPIRED = "0x800B0101"
CERT_E_UNTRUSTEDROOT = "0x800B0109"
TRUST_E_BAD_DIGEST = "0x80096010"
TRUST_E_NOSIGNATURE = "0x800B0100"


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
    status: str  # "valid", "expires", "untrusted", "bad-signature", "unsigned"
    cause: str  # machine-readable why: see CAUSES
    valid_from: datetime | None
    valid_until: datetime | None  # None: no end
    reason: str
    hresult: str | None  # the error Windows returns once the signature is invalid
    mitigation: str | None = None  # the KB that changed this verdict, if any
    root_source: str | None = None

    @property
    def never_valid(self) -> bool:
        return self.status in ("untrusted", "bad-signature")

    def starts(self) -> date | None:
        """The first (UTC) day on which the signature fails; None when it never does or never worked."""
        if self.never_valid or self.valid_until is None:
            return None
        return (self.valid_until + timedelta(seconds=1)).date()

    def as_dict(self) -> dict[str, object]:
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
                (c for c in pool if c.subject_der == current.issuer_der and c.der != current.der
                 and self.cache.signed_by(current, c)),
                None,
            )
            if issuer is None:
                break
            path.append(issuer)
            current = issuer
        top = path[-1]
        problem = f"no trusted root for {top.issuer!r} (not in the image's ROOT/AuthRoot stores nor the bundled set)"
        return Chain(tuple(path), None, problem)

    def judge(self, catalog: Catalog) -> Verdict:
        if not catalog.signed:
            return Verdict("unsigned", "unsigned", None, None, "unsigned catalog: it vouches for nothing", TRUST_E_NOSIGNATURE)
        if catalog.problem or catalog.signer is None:
            return Verdict("bad-signature", "bad-signature", None, None, catalog.problem or "no signer", TRUST_E_BAD_DIGEST)
        chain = self.chain(catalog.signer, catalog.certificates)
        if chain.problem:
            return Verdict("untrusted", "untrusted-root", None, None, chain.problem, CERT_E_UNTRUSTEDROOT)
        signer = catalog.signer

        def expires(cause: str, reason: str) -> Verdict:
            return Verdict("expires", cause, chain.not_before, chain.not_after,
                           f"{reason} (until {iso(chain.not_after)})", CERT_E_EXPIRED, root_source=chain.anchor_source)

        if EKU_LIFETIME_SIGNING in signer.ekus:
            return expires("lifetime-signing",
                           "signer has the lifetime-signing EKU: the signature ends with the certificate, timestamp or not")
        stamp = catalog.timestamp
        if stamp is None:
            return expires("no-timestamp", "no timestamp: valid only while the signer certificate is valid")
        unusable = self._unusable(stamp, chain)
        if unusable:
            return expires("timestamp-unusable",
                           f"{_kind(stamp.kind)} timestamp unusable ({unusable}): treated as no timestamp")
        assert stamp.signer is not None and stamp.time is not None
        usable = f"{_kind(stamp.kind)} timestamp {iso(stamp.time)} by {stamp.signer.common_name!r}"
        if EKU_TIMESTAMPING not in stamp.signer.ekus:
            if not self.mitigation:
                return expires("tsa-without-eku", f"{usable}, whose certificate lacks the timestamping EKU: treated as "
                                                  f"no timestamp (neither KB2749655 nor KB2756872 is installed)")
            return Verdict("valid", "tsa-without-eku-accepted", stamp.time, None,
                           f"{usable} lacks the timestamping EKU but is accepted because {self.mitigation} is installed; "
                           f"valid after the signer expires ({iso(chain.not_after)})",
                           None, mitigation=self.mitigation, root_source=chain.anchor_source)
        return Verdict("valid", "timestamped", stamp.time, None,
                       f"{usable}: valid after the signer expires ({iso(chain.not_after)})",
                       None, root_source=chain.anchor_source)

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

