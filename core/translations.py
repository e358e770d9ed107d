"""The translation catalogs: every `locale/<language>/LC_MESSAGES/<domain>.po` compiles to the `.mo`
Django reads, with polib (pure Python), so a fresh machine needs no gettext. The compiled files are
committed; a test recompiles them and compares, so a .po edited without recompiling is caught."""

from dataclasses import dataclass
from pathlib import Path

import polib
from django.conf import settings


@dataclass(frozen=True)
class Catalog:
    po: Path

    @property
    def mo(self) -> Path:
        return self.po.with_suffix(".mo")

    def compiled(self) -> bytes:
        # polib leaves out fuzzy, obsolete and untranslated entries, as msgfmt does.
        return bytes(polib.pofile(str(self.po)).to_binary())


def catalogs() -> list[Catalog]:
    """Our own catalogs (LOCALE_PATHS), sorted so runs are reproducible."""
    return [Catalog(po) for root in settings.LOCALE_PATHS for po in sorted(Path(root).glob("*/LC_MESSAGES/*.po"))]


def compile_all() -> list[Catalog]:
    """Write every .mo whose .po changed; return the catalogs written."""
    written = []
    for catalog in catalogs():
        data = catalog.compiled()
        if not catalog.mo.exists() or catalog.mo.read_bytes() != data:
            catalog.mo.write_bytes(data)
            written.append(catalog)
    return written
