"""The `images` table: the images of a WIM, what --index and --image-name choose from."""

from __future__ import annotations

from imgscan.report import WimListing
from imgscan.views.columns import columns


def images_table(listing: WimListing) -> str:
    """The images of a WIM (`imgscan images`' JSON): what --index / --image-name choose from."""
    rows = [["INDEX", "NAME", "EDITION", "VERSION", "DESCRIPTION"]]
    for image in listing["images"]:
        rows.append([str(image["index"]), image["name"], image["edition"], image["version"], image["description"]])
    head = f"{listing['path']}  ·  {listing['compression']} compression  ·  {listing['parts']} part(s)"
    return "\n".join([head, "", *columns(rows)]) + "\n"
