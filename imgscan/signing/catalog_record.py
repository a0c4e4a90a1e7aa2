"""What a catalog's signature says, as both readers (`catalog`'s asn1crypto one and `lean_catalog`) give
it: kept apart from either so that each can build it without importing the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from imgscan.signing.certs import Cert


class CatalogError(Exception):
    """The file is not a readable catalog; `str()` says why in one line."""


@dataclass(frozen=True)
class Timestamp:
    kind: str  # "authenticode" (countersignature) or "rfc3161"
    time: datetime | None
    signer: Cert | None  # the TSA certificate
    certificates: tuple[Cert, ...]  # certificates available to build the TSA chain
    problem: str | None  # why the timestamp does not verify, or None


@dataclass(frozen=True)
class Catalog:
    path: str
    sha256: str
    signed: bool
    digest_algorithm: str | None
    signer: Cert | None
    certificates: tuple[Cert, ...]
    signing_time: datetime | None
    timestamp: Timestamp | None
    this_update: datetime | None
    member_count: int
    problem: str | None  # why the catalog's own signature does not verify, or None
    # dual signing: the signatures nested in the primary's unsigned attribute 1.3.6.1.4.1.311.2.4.1,
    # each a Catalog of its own (same CTL, own signer, timestamp and problem); empty for most catalogs
    nested: tuple[Catalog, ...] = ()
    notes: tuple[str, ...] = ()  # parts that could not be read (e.g. a truncated nested signature)
    members: frozenset[bytes] | None = None  # member file hashes, when asked for (parse_catalog members=True)
