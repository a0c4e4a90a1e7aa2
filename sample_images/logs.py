"""The log files of the two incidents, written in their real formats for the sample images.

- ref-w7-2012q3: CBS.log with the catalog failure cascade of the write-up, a CbsPersist
  rotation compressed as an MSZIP cabinet (by gcab, an independent CAB writer),
  CheckSUR.log with its "CBS Catalog Expired" lines, and Setup.evtx with the
  WUSA event 3 (error 2148204801).
- ws-acc-0417: the .NET setup log %TEMP%\\KB2656368.html (here Windows\\Temp, as Windows
  Update runs as SYSTEM) and System.evtx with the Windows Update Agent event 20.

Which stories a scenario carries is listed in its `logs` key.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sample_images.evtx_writer import Event, write_evtx

KB2705219 = "Package_{n}for_KB2705219~31bf3856ad364e35~amd64~~6.1.1.1"
CATALOG = "\\\\?\\C:\\WINDOWS\\Servicing\\Packages\\{identity}.cat"


def cbs_line(moment: datetime, level: str, component: str, text: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}, {level:<22}{component:<7}{text}"


def _expired_catalog_cascade(moment: datetime, identity: str) -> list[str]:
    """The lines of ref-w7-2012q3's CBS.log for one package whose catalog has expired."""
    error = "[HRESULT = 0x800b0101 - CERT_E_EXPIRED]"
    return [
        cbs_line(
            moment, "Error", "CBS", f"Failed to verify if catalog file {CATALOG.format(identity=identity)} is valid. {error}"
        ),
        cbs_line(
            moment,
            "Info",
            "CBS",
            f"Failed to initialize package: {identity}, from path: "
            f"\\\\?\\C:\\WINDOWS\\Servicing\\Packages\\{identity}.mum, existing package: 1 {error}",
        ),
        cbs_line(moment, "Info", "CBS", f"Failed to resolve package {error}"),
        cbs_line(moment, "Info", "CBS", f"Failed to populate children. {error}"),
        cbs_line(moment, "Info", "CBS", f"Failed to initialize internal package {error}"),
        cbs_line(moment, "Info", "CBS", f"Failed to create package. {error}"),
        cbs_line(moment, "Error", "CBS", f"Failed to internally open package. {error}"),
    ]


def _routine(moment: datetime, count: int) -> list[str]:
    """Ordinary servicing noise, including a continuation line and an Info-level failure code."""
    lines = []
    for n in range(count):
        at = moment + timedelta(seconds=n)
        lines.append(
            cbs_line(
                at,
                "Info",
                "CBS",
                "Loaded Servicing Stack v6.1.7601.17592 with Core: "
                "C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack\\cbscore.dll",
            )
        )
        lines.append(
            cbs_line(
                at,
                "Info",
                "CSI",
                f"{n:08x}@2013/7/1:07:04:{n % 60:02d}.123 WcpInitialize (wcp.dll version "
                f"0.0.0.6) called (stack @0x7fef65fdb5d @0x7fef6b6a9f6)",
            )
        )
        lines.append("    continuation of the previous CSI entry")
        lines.append(
            cbs_line(
                at,
                "Info",
                "CBS",
                "Failed to find a matching version for servicing stack [HRESULT = 0x80070490 - ERROR_NOT_FOUND]",
            )
        )
    return lines


def kb2705219_cbs(s: object) -> dict[str, bytes]:
    failing = datetime(2013, 7, 1, 9, 4, 27)
    lines = _routine(datetime(2013, 7, 1, 7, 4, 0), 40)
    for n in ("2_", "3_"):
        lines += _expired_catalog_cascade(failing, KB2705219.format(n=n))
    lines.append(
        cbs_line(
            failing, "Info", "CBS", "Session: 30307881_965955247 finalized. Reboot required: no [HRESULT = 0x00000000 - S_OK]"
        )
    )
    rotated = _routine(datetime(2013, 6, 30, 12, 0, 0), 20) + _expired_catalog_cascade(
        datetime(2013, 6, 30, 12, 0, 30), KB2705219.format(n="")
    )
    return {
        "Windows/Logs/CBS/CBS.log": ("\r\n".join(lines) + "\r\n").encode("utf-8"),
        "Windows/Logs/CBS/CbsPersist_20130630120031.cab": _cab(
            "CbsPersist_20130630120031.log", ("\r\n".join(rotated) + "\r\n").encode("utf-8")
        ),
    }


def kb2705219_checksur(s: object) -> dict[str, bytes]:
    text = (
        "\r\n".join(
            [
                "=================================",
                "Checking System Update Readiness.",
                "Binary Version 6.1.7601.21645",
                "Package Version 19.0",
                "2013-07-01 10:10",
                "",
                "Checking Windows Servicing Packages",
                "",
                "Checking Package Manifests and Catalogs",
                f"(w)\tCBS Catalog Expired\t0x800B0101\tservicing\\Packages\\{KB2705219.format(n='2_')}.cat\t",
                f"(w)\tCBS Catalog Expired\t0x800B0101\tservicing\\Packages\\{KB2705219.format(n='3_')}.cat\t",
                "",
                "Checking Component Store",
                "",
                "Summary:",
                "Seconds executed: 539",
                " No errors detected",
                " CBS Catalog Expired Total count: 2",
            ]
        )
        + "\r\n"
    )
    return {"Windows/Logs/CBS/CheckSUR.log": text.encode("utf-16")}


def kb2705219_wusa(s: object) -> dict[str, bytes]:
    event = Event(
        provider="Microsoft-Windows-WUSA",
        event_id=3,
        level=2,
        time=datetime(2013, 7, 3, 9, 37, 45),
        record_id=1,
        channel="Setup",
        computer="D4779999.Contoso.Org",
        data={
            "UpdateTitle": "Security Update for Windows (KB2705219)",
            "ErrorCode": "2148204801",
            "ErrorMessage": "A required certificate is not within its validity period",
            "CommandLine": '"C:\\WINDOWS\\system32\\wusa.exe" "C:\\tmp_SW\\Windows6.1-KB2705219-v2-x64.msu"',
        },
    )
    return {"Windows/System32/winevt/Logs/Setup.evtx": write_evtx([event])}


def kb2656368_dotnet(s: object) -> dict[str, bytes]:
    msp, temp = "NDP40-KB2656368.msp", "d:\\f4fc31bd6ed42ecc7c4387d680"
    lines = [
        "<html><head><title>KB2656368</title></head><body><pre>",
        "[4/24/2012, 8:54:49] Action: Downloading and/or Verifying Items...",
        f"[4/24/2012, 8:54:49] Verifying Digital Signatures: {temp}\\{msp}",
        f"[4/24/2012, 8:54:49] {temp}\\{msp}: Verifying signature for {msp}...",
        f"[4/24/2012, 8:54:49] {temp}\\{msp} - Signature verification for file {msp} ({temp}\\{msp}) failed with "
        f"error 0x800b010e (The revocation process could not continue - the certificate(s) could not be checked.)",
        f"[4/24/2012, 8:54:49] {temp}\\{msp} Signature could not be verified for {msp}",
        f"[4/24/2012, 8:54:49] File {msp} ({temp}\\{msp}), failed authentication. (Error = -2146762482). "
        "It is recommended that you delete this file and retry setup again.",
        "[4/24/2012, 8:54:49] Action complete",
        "[4/24/2012, 8:54:51] Final Result: Installation failed with error code: (0x800B010B), "
        '"Generic trust failure." (Elapsed time: 0 00:00:03).',
        "</pre></body></html>",
    ]
    event = Event(
        provider="Microsoft-Windows-WindowsUpdateClient",
        event_id=20,
        level=2,
        time=datetime(2012, 4, 24, 8, 55, 2),
        record_id=1,
        channel="System",
        computer="WS-ACC-0417",
        data={
            "errorCode": "0x80070643",
            "updateTitle": "Security Update for Microsoft .NET Framework 4 on Windows 7 x86 (KB2656368)",
            "updateGuid": "{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}",
            "updateRevisionNumber": "201",
        },
    )
    return {
        "Windows/Temp/KB2656368.html": ("\r\n".join(lines) + "\r\n").encode("utf-8"),
        "Windows/System32/winevt/Logs/System.evtx": write_evtx([event]),
    }


STORIES: dict[str, Callable[[object], dict[str, bytes]]] = {
    "kb2705219-cbs": kb2705219_cbs,
    "kb2705219-checksur": kb2705219_checksur,
    "kb2705219-wusa": kb2705219_wusa,
    "kb2656368-dotnet": kb2656368_dotnet,
}


def _cab(name: str, data: bytes) -> bytes:
    """An MSZIP cabinet holding one file, written by gcab (not by imgscan's reader library)."""
    with tempfile.TemporaryDirectory() as tmp:
        member = Path(tmp) / name
        member.write_bytes(data)
        cab = Path(tmp) / "out.cab"
        subprocess.run(["gcab", "-c", "-z", "-n", str(cab), str(member)], check=True, capture_output=True)
        return cab.read_bytes()


def write_distinct_failures(path: Path, count: int, codes: int = 1) -> None:
    """A CBS.log of `count` Error lines, each for a different package: the worst case for log grouping.
    With `codes` > 1 the HRESULTs run through that many distinct values (0x800F0000 and up) too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for n in range(count):
            identity = f"Package_for_KB{3000000 + n}~31bf3856ad364e35~amd64~~6.1.1.0"
            code = "0x800f081f - CBS_E_SOURCE_MISSING" if codes == 1 else f"0x{0x800F0000 + n % codes:08x}"
            text = f"Failed to resolve package: {identity} [HRESULT = {code}]"
            fh.write(cbs_line(datetime(2013, 7, 1), "Error", "CBS", text) + "\n")
