"""A judged catalog as JSON, and back: how the verdict caches store results without pickle.

A cache file or database row is data from outside the scan: it may be damaged, tampered with or written
by another imgscan. So an entry is plain JSON of imgscan's records (strings, numbers, ISO times, hex
bytes) with the SHA-256 of that JSON in front: decoding builds only `Catalog`, `Timestamp` and `Verdict`
from fields it checks, an entry whose digest differs is refused (a flipped bit is judged again, never
trusted), and certificates are not in the entry at all but named by the SHA-256 of their DER, which the
cache keeps once in its own table (a handful of certificates sign tens of thousands of catalogs).
Certificates come back through the scan's `CertCache`, so each is parsed once per scan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from imgscan.signing.catalog import Catalog, Timestamp
from imgscan.signing.certs import Cert
from imgscan.signing.validity import Verdict

if TYPE_CHECKING:
    from imgscan.signing.catalog_workers import Known

DIGEST = 64  # hex characters of the SHA-256 in front of the JSON


class Undecodable(ValueError):
    """An entry that is not what `encode` writes; the catalog is judged again."""


def cert_id(cert: Cert) -> str:
    return hashlib.sha256(cert.der).hexdigest()


def encode(known: Known) -> tuple[bytes, dict[str, bytes]]:
    """(the entry, {certificate id: DER} of the certificates it names). Raises Undecodable for a value
    JSON cannot carry exactly (e.g. asn1crypto's year-0 time), which is then simply not cached."""
    certs: dict[str, bytes] = {}
    catalog, verdict, problem, verdicts = known
    document = {
        "catalog": _catalog(catalog, certs) if catalog else None,
        "verdict": _verdict(verdict) if verdict else None,
        "problem": problem,
        "verdicts": [_verdict(v) for v in verdicts] if verdicts is not None else None,
    }
    try:
        text = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError: e.g. a lone surrogate in a note
        raise Undecodable(f"judged catalog has no exact JSON form: {exc}") from None
    return hashlib.sha256(text).hexdigest().encode() + text, certs


def cert_ids(entry: bytes) -> set[str]:
    """The certificates an entry names (for the cache's clean-up)."""
    document = _document(entry)
    try:
        return set(_names(document))
    except (KeyError, TypeError) as exc:
        raise Undecodable(f"cached entry is not JSON of a judged catalog: {exc!r}") from None


class Decoder:
    """Decodes one cache's entries; `certificate` gives the parsed certificate of an id (KeyError when the
    cache lacks it). What many entries share is built once: the certificate lists of a signer's chain
    (the same ids in thousands of entries) and the verdicts (a handful per image: one per signer and
    timestamp case). Certificates and verdicts are immutable, so the catalogs share them safely: building
    them once saves about a twentieth of the decoding, and what reports work out once per verdict
    (`Verdict.as_dict`) is then worked out a handful of times instead of once per catalog."""

    def __init__(self, certificate: Callable[[str], Cert]) -> None:
        self._certificate = certificate
        self._chains: dict[tuple[str, ...], tuple[Cert, ...]] = {}
        self._verdicts: dict[tuple[object, ...], Verdict] = {}

    def decode(self, entry: bytes, path: str) -> Known:
        """The result `entry` holds, with the catalog's own `path`. Raises Undecodable for anything else
        than `encode` wrote."""
        document = _document(entry)
        try:
            catalog = self._catalog(document["catalog"], path) if document["catalog"] else None
            verdict = self._verdict(document["verdict"]) if document["verdict"] else None
            verdicts = document["verdicts"]
            every = tuple(map(self._verdict, verdicts)) if verdicts is not None else None
            problem = document["problem"]
            if problem is not None and not isinstance(problem, str):
                raise TypeError("problem is not a string")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Undecodable(f"cached entry is not a judged catalog: {exc!r}") from None
        return (catalog, verdict, problem, every)

    def _chain(self, ids: list[str]) -> tuple[Cert, ...]:
        key = tuple(ids)
        chain = self._chains.get(key)
        if chain is None:
            chain = self._chains[key] = tuple(map(self._certificate, key))
        return chain

    def _verdict(self, doc: dict[str, Any]) -> Verdict:
        key = tuple(doc[name] for name in VERDICT_FIELDS)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = _load_verdict(doc)
        return verdict

    def _catalog(self, doc: dict[str, Any], path: str) -> Catalog:
        stamp = doc["timestamp"]
        members = doc["members"]
        return Catalog(
            path=path,
            sha256=str(doc["sha256"]),
            signed=bool(doc["signed"]),
            digest_algorithm=doc["digest_algorithm"],
            signer=self._certificate(doc["signer"]) if doc["signer"] else None,
            certificates=self._chain(doc["certificates"]),
            signing_time=_load_time(doc["signing_time"]),
            timestamp=Timestamp(
                kind=str(stamp["kind"]),
                time=_load_time(stamp["time"]),
                signer=self._certificate(stamp["signer"]) if stamp["signer"] else None,
                certificates=self._chain(stamp["certificates"]),
                problem=stamp["problem"],
            )
            if stamp
            else None,
            this_update=_load_time(doc["this_update"]),
            member_count=int(doc["member_count"]),
            problem=doc["problem"],
            nested=tuple(self._catalog(n, path) for n in doc["nested"]),
            notes=tuple(map(str, doc["notes"])),
            members=frozenset(map(bytes.fromhex, members)) if members is not None else None,
        )


def _document(entry: bytes) -> dict[str, Any]:
    digest, text = entry[:DIGEST], entry[DIGEST:]
    if hashlib.sha256(text).hexdigest().encode() != digest:
        raise Undecodable("cached entry does not match its checksum")
    try:
        document = orjson.loads(text)
        if not isinstance(document, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise Undecodable(f"cached entry is not JSON of a judged catalog: {exc!r}") from None
    return document


def _names(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    stack = [document.get("catalog")]
    while stack:
        catalog = stack.pop()
        if not catalog:
            continue
        found += [catalog["signer"]] if catalog["signer"] else []
        found += catalog["certificates"]
        if stamp := catalog["timestamp"]:
            found += ([stamp["signer"]] if stamp["signer"] else []) + stamp["certificates"]
        stack += catalog["nested"]
    return found


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if type(moment) is not datetime or moment.tzinfo is None:
        raise Undecodable(f"time {moment!r} has no exact JSON form")
    return moment.isoformat()


def _load_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text} has no time zone")
    return moment


def _cert(cert: Cert, certs: dict[str, bytes]) -> str:
    name = cert_id(cert)
    certs[name] = cert.der
    return name


def _catalog(cat: Catalog, certs: dict[str, bytes]) -> dict[str, Any]:
    stamp = cat.timestamp
    return {
        "sha256": cat.sha256,
        "signed": cat.signed,
        "digest_algorithm": cat.digest_algorithm,
        "signer": _cert(cat.signer, certs) if cat.signer else None,
        "certificates": [_cert(c, certs) for c in cat.certificates],
        "signing_time": _time(cat.signing_time),
        "timestamp": {
            "kind": stamp.kind,
            "time": _time(stamp.time),
            "signer": _cert(stamp.signer, certs) if stamp.signer else None,
            "certificates": [_cert(c, certs) for c in stamp.certificates],
            "problem": stamp.problem,
        }
        if stamp
        else None,
        "this_update": _time(cat.this_update),
        "member_count": cat.member_count,
        "problem": cat.problem,
        "nested": [_catalog(n, certs) for n in cat.nested],
        "notes": list(cat.notes),
        "members": sorted(m.hex() for m in cat.members) if cat.members is not None else None,
    }


VERDICT_FIELDS = ("status", "cause", "valid_from", "valid_until", "reason", "hresult", "mitigation", "root_source")


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return {
        "status": verdict.status,
        "cause": verdict.cause,
        "valid_from": _time(verdict.valid_from),
        "valid_until": _time(verdict.valid_until),
        "reason": verdict.reason,
        "hresult": verdict.hresult,
        "mitigation": verdict.mitigation,
        "root_source": verdict.root_source,
    }


def _load_verdict(doc: dict[str, Any]) -> Verdict:
    return Verdict(
        status=str(doc["status"]),
        cause=str(doc["cause"]),
        valid_from=_load_time(doc["valid_from"]),
        valid_until=_load_time(doc["valid_until"]),
        reason=str(doc["reason"]),
        hresult=doc["hresult"],
        mitigation=doc["mitigation"],
        root_source=doc["root_source"],
    )
