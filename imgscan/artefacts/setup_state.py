"""Kind `setup_state`: where Windows Setup left the image (sysprep's image state).

Read from SOFTWARE `Microsoft\\Windows\\CurrentVersion\\Setup\\State` value `ImageState`, and from
`Windows\\Setup\\State\\State.ini` (`[State]` `ImageState=`), which Windows Setup keeps in step; the
registry value wins when both are there. Source: Microsoft, "Windows Setup states"
(learn.microsoft.com/windows-hardware/manufacture/desktop/windows-setup-states).
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgscan.logs.text import sniff_encoding

if TYPE_CHECKING:
    from imgscan.artefacts.loading import ArtefactLoader

PATHS = ("/Windows/Setup/State/State.ini",)
ABSENT = "the image records no Windows Setup image state"
STATE_KEY = r"Microsoft\Windows\CurrentVersion\Setup\State"
STATE_INI = r"Windows\Setup\State\State.ini"


@dataclass
class SetupState:
    image_state: str | None = None
    source: str | None = None  # the hive value or file it was read from
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.image_state is not None


def load(art: ArtefactLoader) -> SetupState:
    errors: list[dict[str, str]] = []
    from_ini = _from_ini(art, errors)
    value = art.software.value(STATE_KEY, "ImageState") if art.software else None
    if isinstance(value, str) and value.strip():
        return SetupState(value.strip(), rf"SOFTWARE\{STATE_KEY}\ImageState", errors)
    if from_ini:
        return SetupState(from_ini, STATE_INI, errors)
    return SetupState(errors=errors)


def _from_ini(art: ArtefactLoader, errors: list[dict[str, str]]) -> str | None:
    if not art.volume.exists(STATE_INI):
        return None
    try:
        with art.volume.open(STATE_INI) as fh:
            data = fh.read(1 << 20)  # a few lines; a bigger file is not Windows' own
        text = data.decode(sniff_encoding(data[:4]), errors="replace")
    except OSError as exc:
        errors.append({"path": STATE_INI, "message": f"cannot be read: {getattr(exc, 'problem', exc)}"})
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text.lstrip("\ufeff"))
    except configparser.Error as exc:
        errors.append({"path": STATE_INI, "message": f"not an INI file: {str(exc).splitlines()[0]}"})
        return None
    state = parser.get("State", "ImageState", fallback=None)
    return state.strip() if state else None
