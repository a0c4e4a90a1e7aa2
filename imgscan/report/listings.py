"""What the listings write with `-f json` (`imgscan packages`, `catalogs`, `images`): report sections with the
report's own header."""

from __future__ import annotations

from typing_extensions import NotRequired, TypedDict

from imgscan.report.image import Host, ImageInfo, WimImageJson
from imgscan.report.inventory import CatalogJson, PackageJson, QfeRow, WmicQfe


class SsuLevel(TypedDict):
    """The newest servicing stack update installed, with its release day when imgscan's data knows it."""

    kb: str
    released: str | None


class Unknown(TypedDict):
    """What a listing cannot tell because a hive its values come from could not be read (the listing then
    exits 2): the hive, what is wrong with it, and the fields whose values are unknown or not facts."""

    path: str  # the hive's path in the image (the key's inside it, when a damaged cell lost registrations)
    problem: str  # "missing", "truncated: ...", as the report's `errors` entry says it
    fields: list[str]  # the listing's fields it leaves unknown ("qfe", "ssu_level", "packages[].state_name", ...)
    catalogs: list[str]  # the catalogs whose verdict is shown "unknown" because it rests on that hive
    message: str  # all of it in one line, as the table says it


class Listing(TypedDict):
    """What every listing (`imgscan packages`, `imgscan catalogs`) starts with: the report's own header."""

    imgscan: str
    image: ImageInfo
    as_of: str
    host: Host
    unknown: NotRequired[list[Unknown]]  # present only when a hive the listing needs could not be read


class PackagesListing(Listing):
    """`imgscan packages -f json`: what wmic qfe lists on the as-of day, then every package."""

    qfe: list[QfeRow]
    packages: list[PackageJson]
    wmic_qfe: WmicQfe
    qfe_empty_from: str | None
    ssu_level: SsuLevel | None


class CatalogsListing(Listing):
    """`imgscan catalogs -f json`: every catalog."""

    catalogs: list[CatalogJson]


class WimListing(TypedDict):
    """`imgscan images -f json`: the images of a WIM file."""

    path: str
    compression: str
    parts: int
    images: list[WimImageJson]
