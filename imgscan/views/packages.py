"""The `packages` table: what `wmic qfe` lists on the as-of day, then every package with its catalog verdict."""

from __future__ import annotations

from imgscan.report import PackagesListing
from imgscan.views.columns import columns, header


def packages_table(view: PackagesListing) -> str:
    """`wmic qfe`'s columns first, then every package with its state and catalog verdict."""
    lines = header(view)
    wmic = view["wmic_qfe"]
    qfe = view["qfe"]
    unknown = {field for u in view.get("unknown", []) for field in u["fields"]}
    if "qfe" in unknown:  # the hive the updates are registered in could not be read: no list is a fact
        lines.append(f"wmic qfe as of {view['as_of']}: unknown (see above)")
    elif wmic["empty"]:
        since = f" since {wmic['from']}" if wmic["from"] else ""
        lines += [
            f"wmic qfe as of {view['as_of']}: No instances available.",
            f"  (predicted by {wmic['predicted_by']}{since}; the installed updates it lists while the catalogs are valid:)",
        ]
    else:
        lines.append(f"wmic qfe as of {view['as_of']}:")
        qfe = wmic["rows"]
        if wmic["from"]:
            lines.append(f"  ({wmic['predicted_by']} predicts an empty list from {wmic['from']})")
    rows = [["HotFixID", "Description", "InstalledOn", "InstalledBy"]]
    rows += [[r["HotFixID"] or "", r["Description"] or "", r["InstalledOn"] or "", r["InstalledBy"] or ""] for r in qfe]
    if "qfe" not in unknown:
        lines += columns(rows) if qfe else ["No instances available."]
    ssu = view.get("ssu_level")
    released = f" (released {ssu['released']})" if ssu and ssu["released"] else ""
    stack = f"{ssu['kb']}{released}" if ssu else "no servicing stack update installed"
    lines += ["", f"Servicing stack: {'unknown (see above)' if 'ssu_level' in unknown else stack}"]
    lines += ["", f"{len(view['packages'])} package(s):"]
    rows = [["PACKAGE", "KB", "STATE", "INSTALLED", "CATALOG", "FAILS FROM"]]
    for package in view["packages"]:
        rows.append(
            [
                package["identity"],
                (package["kb"] or "") + (" (SSU)" if package.get("servicing_stack_update") else ""),
                package["state_name"] or "",
                package["installed_on"] or "",
                str(package.get("catalog_status_as_of") or ""),
                package.get("catalog_fails_from") or "",
            ]
        )
    return "\n".join(lines + columns(rows)) + "\n"
