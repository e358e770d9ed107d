"""Make the caption font: Noto Sans CJK SC Bold cut down to Latin, punctuation, emoji-free symbols and the
6,763 hanzi of GB 2312 (what people type in everyday Chinese), so the repository carries ~3 MB, not 20.

    apt-get install fonts-noto-cjk && .venv/bin/pip install fonttools
    .venv/bin/python stickers/fonts/make_font.py

Noto is under the SIL Open Font License 1.1 (OFL.txt beside the font).
"""

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
SC_BOLD = 2  # the collection's "Noto Sans CJK SC Bold"
TARGET = Path(__file__).with_name("caption.otf")


def gb2312() -> str:
    chars = []
    for high in range(0xB0, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def main() -> None:
    font = TTCollection(str(SOURCE)).fonts[SC_BOLD]
    text = (
        "".join(chr(c) for c in range(0x20, 0x7F))
        + "".join(chr(c) for c in range(0xA0, 0x180))  # Latin-1 and Latin Extended-A
        + "‘’“”–—…·•€™←→↑↓♥♡☆★～"
        + "，。、！？：；（）《》「」『』【】～·—…“”‘’"
        + gb2312()
    )
    options = subset.Options()
    options.layout_features = ["kern", "liga", "vert", "locl"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(str(TARGET))
    sys.stdout.write(f"{TARGET}: {TARGET.stat().st_size / 1e6:.1f} MB, {len(set(text))} characters\n")


if __name__ == "__main__":
    main()
