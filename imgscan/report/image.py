"""The report's `image` and `host`: what was scanned, as every report and listing names it."""

from __future__ import annotations

from typing_extensions import NotRequired, TypedDict


class ParentImage(TypedDict):
    path: str
    sha256: str
    format: str


class Collection(TypedDict):
    """A triage collection: partial when it holds none of the files of a kind every Windows has."""

    partial: bool
    lacking: list[str]  # those kinds' declared paths it holds nothing of (Windows\servicing\Packages\*.cat, ...)


class WimImageJson(TypedDict):
    """One image of a WIM, as wimlib describes it."""

    index: int
    name: str
    description: str
    edition: str
    version: str
    product: str


class WimJson(WimImageJson):
    """The WIM image scanned."""

    compression: str
    parts: int  # files of a split WIM


class ImageInfo(TypedDict):
    """The input: its path as given, its content hash (a tree digest for directories) and container."""

    path: str
    sha256: str
    format: str
    # the other files the image is read from: a differencing disk's parents, a VMDK's extents, an E01's later
    # segments, a QCOW2's data file, a VM export's disks
    parents: NotRequired[list[ParentImage]]
    wim: NotRequired[WimJson]  # the WIM image scanned
    loader: NotRequired[str]  # the dissect.target loader that read a VM export or collection (ova, acquire, kape, ...)
    collection: NotRequired[Collection]  # a tar, zip or KAPE collection: what it lacks


class Host(TypedDict):
    name: str | None  # ComputerName of the current control set
    os: str | None
    utc_offset_minutes: int | None  # local = UTC + offset, from TimeZoneInformation; None when unknown
