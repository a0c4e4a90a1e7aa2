"""Decode WinTrust's "Software Publishing" `State` DWORD the way SetReg.exe prints it.

Bit names come from Wine's and mingw-w64's wintrust.h; SetReg's ten options and
the test vectors (0xc9, 0x22849, 0x23c00) from SetReg's printouts on a host whose State was 0xc9.
Bits 0x1, 0x8 and 0x40 appear in real values but are defined in no header:
they are reported raw as undefined. 0x4000/0x8000 are named only in an old
header and are not relied on.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgscan.report import TrustOption

KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\WinTrust\Trust Providers\Software Publishing"
VALUE_NAME = "State"
WINDOWS_DEFAULT = 0x23C00  # what Windows (and Wine) use when the value is absent
SETREG_DEFAULT = 0x22849  # SetReg's documented default

TRUSTTEST = 0x00020
TESTCANBEVALID = 0x00080
IGNOREEXPIRATION = 0x00100
IGNOREREVOKATION = 0x00200
OFFLINEOK_IND = 0x00400
OFFLINEOK_COM = 0x00800
OFFLINEOKNBU_IND = 0x01000
OFFLINEOKNBU_COM = 0x02000
TIMESTAMP_IND = 0x04000
TIMESTAMP_COM = 0x08000
VERIFY_V1_OFF = 0x10000
IGNOREREVOCATIONONTS = 0x20000
ALLOWONLYPERTRUST = 0x40000

KNOWN_BITS = (
    TRUSTTEST
    | TESTCANBEVALID
    | IGNOREEXPIRATION
    | IGNOREREVOKATION
    | OFFLINEOK_IND
    | OFFLINEOK_COM
    | OFFLINEOKNBU_IND
    | OFFLINEOKNBU_COM
    | TIMESTAMP_IND
    | TIMESTAMP_COM
    | VERIFY_V1_OFF
    | IGNOREREVOCATIONONTS
    | ALLOWONLYPERTRUST
)

# (SetReg number, SetReg's wording, bit mask, True when the option is "on" while the bit is clear)
OPTIONS: tuple[tuple[int, str, int, bool], ...] = (
    (1, "Trust the Test Root", TRUSTTEST | TESTCANBEVALID, False),
    (2, "Use expiration date on certificates", IGNOREEXPIRATION, True),
    (3, "Check the revocation list", IGNOREREVOKATION, True),
    (4, "Offline revocation server OK (Individual)", OFFLINEOK_IND, False),
    (5, "Offline revocation server OK (Commercial)", OFFLINEOK_COM, False),
    (6, "Java offline revocation server OK (Individual)", OFFLINEOKNBU_IND, False),
    (7, "Java offline revocation server OK (Commercial)", OFFLINEOKNBU_COM, False),
    (8, "Invalidate version 1 signed objects", VERIFY_V1_OFF, False),
    (9, "Check the revocation list on Time Stamp Signer", IGNOREREVOCATIONONTS, True),
    (10, "Only trust items found in the Trust DB", ALLOWONLYPERTRUST, False),
)


@dataclass(frozen=True)
class TrustState:
    """A decoded State value."""

    raw: int

    def option(self, number: int) -> bool:
        _, _, mask, inverted = OPTIONS[number - 1]
        is_set = bool(self.raw & mask)
        return not is_set if inverted else is_set

    @property
    def options(self) -> list[TrustOption]:
        return [{"option": n, "name": name, "value": self.option(n)} for n, name, _, _ in OPTIONS]

    @property
    def undefined_bits(self) -> int:
        return self.raw & ~KNOWN_BITS

    @property
    def hex(self) -> str:
        return f"0x{self.raw:08x}"

    @property
    def rejects_offline_revocation(self) -> bool:
        """Revocation is checked, but an unreachable revocation server fails commercial signatures."""
        return self.option(3) and not self.option(5)

    @property
    def weakenings(self) -> list[str]:
        """Settings more permissive than Windows' default 0x23c00, in SetReg's words."""
        found = []
        if self.option(1):
            found.append("test root certificates are trusted (option 1)")
        if not self.option(2):
            found.append("certificate expiration is not checked (option 2 off)")
        if not self.option(3):
            found.append("revocation is not checked (option 3 off)")
        return found


def as_dword(data: object) -> int | None:
    """The value's data as a DWORD, accepting the REG_BINARY spelling of one; None otherwise."""
    if isinstance(data, int) and 0 <= data <= 0xFFFFFFFF:
        return data
    if isinstance(data, bytes) and len(data) == 4:
        return int.from_bytes(data, "little")
    return None
