"""The TrueType faces a PDF prints with: their metrics, and a subset of each for one document.

A `Face` reads one Source Sans Pro `.ttf` from the `font-source-sans-pro` wheel once per
process: the character map, the advance widths, the kerning pairs of its `kern` feature and
where each glyph's outline lies. `width` measures a string for layout, advances and kerning;
`kerns` gives the kerning between each two characters, for drawing. `subset(glyphs)` returns a
font program holding only the outlines a document prints (and the components they are built
from), with every glyph keeping its id, so the PDF can address glyphs by id (Identity-H)
without a character map in the font.

A character the face lacks prints as the face's "missing glyph" box; nothing fails.
"""
from __future__ import annotations

import array
import struct
import sys
import unicodedata
from functools import lru_cache
from importlib.resources import files

# Tables a PDF viewer needs to draw a TrueType font program addressed by glyph id
# (ISO 32000-1, 9.9: the hinting tables are copied because the outlines' instructions call them),
# and `name` and `post` (without glyph names), which stricter font parsers expect in any font.
_KEPT = (b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"name", b"post", b"prep")
# Composite glyph flags (OpenType `glyf` table)
_ARGS_ARE_WORDS, _HAS_SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080
CACHED_TEXTS = 100_000
FACES = {"regular": "SourceSansPro-Regular", "semibold": "SourceSansPro-Semibold",
         "bold": "SourceSansPro-Bold", "italic": "SourceSansPro-It"}


class Face:
    """One TrueType face: glyph ids and advances per character, and subsets of its outlines."""

    def __init__(self, name: str, data: bytes):
        self.name, self.data = name, data
        self.tables = _table_directory(data)
        head = self.table(b"head")
        self.units = struct.unpack_from(">H", head, 18)[0]
        self.bbox = struct.unpack_from(">4h", head, 36)
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        hhea = self.table(b"hhea")
        self.ascent, self.descent = struct.unpack_from(">hh", hhea, 4)
        metrics = struct.unpack_from(">H", hhea, 34)[0]
        self.glyph_count = struct.unpack_from(">H", self.table(b"maxp"), 4)[0]
        hmtx = self.table(b"hmtx")
        advances = [struct.unpack_from(">H", hmtx, 4 * i)[0] for i in range(metrics)]
        self.advances = advances + [advances[-1]] * (self.glyph_count - metrics)
        loca = self.table(b"loca")
        count = self.glyph_count + 1
        self.loca = (list(struct.unpack_from(f">{count}I", loca)) if long_loca
                     else [2 * x for x in struct.unpack_from(f">{count}H", loca)])
        os2 = self.table(b"OS/2")
        self.cap_height = struct.unpack_from(">h", os2, 88)[0] if len(os2) >= 90 else self.ascent
        self.italic_angle = struct.unpack_from(">i", self.table(b"post"), 4)[0] / 65536
        self.cmap = _character_map(self.table(b"cmap"))
        # per character: (glyph id, advance in 1/1000 of the size); per text: its advance. Caches,
        # as text repeats from one document to the next (cleared when full: memory stays bounded).
        self._glyph: dict[str, tuple[int, int]] = {}
        self._advance: dict[str, int] = {}
        self._glyf = self.table(b"glyf")
        self._names = _short_names(self.table(b"name"))
        self._gpos = self.table(b"GPOS") if b"GPOS" in self.tables else b""
        self._kerning = _kerning_lookups(self._gpos)  # per lookup, its pair-adjustment subtables
        self._pairs: dict[tuple[int, int], int] = {}  # (left glyph, right glyph) -> kerning
        self._outlines: dict[int, tuple[bytes, list[int]]] = {}

    def _outline(self, gid: int) -> tuple[bytes, list[int]]:
        """A glyph's outline (padded to 4 bytes) and the glyphs it is composed of."""
        found = self._outlines.get(gid)
        if found is None:
            glyf = self._glyf
            outline = glyf[self.loca[gid]:self.loca[gid + 1]]
            found = self._outlines[gid] = (outline + b"\0" * (-len(outline) % 4), _components(glyf, self.loca, gid))
        return found

    def table(self, tag: bytes) -> bytes:
        offset, length = self.tables[tag]
        return self.data[offset:offset + length]

    def glyph(self, char: str) -> tuple[int, int]:
        """The glyph id of `char` (0, the missing-glyph box, when the face lacks it) and its advance."""
        found = self._glyph.get(char)
        if found is None:
            gid = self.cmap.get(ord(char), 0)
            found = self._glyph[char] = (gid, self.advances[gid] * 1000 // self.units)
        return found

    def width(self, text: str, size: float, tracking: float = 0.0) -> float:
        """The width of `text` in points at `size`, with `tracking` points added after each character."""
        advance = self._advance.get(text)
        if advance is None:
            glyph = self.glyph
            advance = sum(glyph(c)[1] for c in text) + sum(self.kerns(text))
            if len(self._advance) >= CACHED_TEXTS:
                self._advance.clear()
            self._advance[text] = advance
        return advance * size / 1000 + tracking * len(text)

    def kerns(self, text: str) -> list[int]:
        """The kerning between each two neighbouring characters of `text`, in 1/1000 of the size
        (negative: closer), from the face's `kern` feature: "Te", "AV" as the designer set them."""
        if len(text) < 2 or not self._kerning:
            return []
        glyph, pairs, out = self.glyph, self._pairs, []
        left = glyph(text[0])[0]
        for char in text[1:]:
            right = glyph(char)[0]
            value = pairs.get((left, right))
            if value is None:
                if len(pairs) >= CACHED_TEXTS:
                    pairs.clear()
                value = pairs[left, right] = _pair_value(self._gpos, self._kerning, left, right) * 1000 // self.units
            out.append(value)
            left = right
        return out

    def subset(self, glyphs: set[int]) -> bytes:
        """A font program with the outlines of `glyphs` (and glyph 0), every other glyph empty."""
        wanted = {0} | glyphs
        todo = list(wanted)
        while todo:  # composite glyphs draw other glyphs: those come along
            for component in self._outline(todo.pop())[1]:
                if component not in wanted:
                    wanted.add(component)
                    todo.append(component)
        # Glyphs after the last one used are left out altogether: their ids are never printed.
        count = max(wanted) + 1
        loca, hmtx, outlines, at, done = [0] * (count + 1), bytearray(4 * count), [], 0, 0
        for gid in sorted(wanted):
            loca[done:gid + 1] = [at] * (gid + 1 - done)  # an empty glyph before it starts where it ends
            outline = self._outline(gid)[0]
            outlines.append(outline)
            at += len(outline)
            struct.pack_into(">H", hmtx, 4 * gid, self.advances[gid])  # other advances stay 0: never read
            done = gid + 1
        loca[done:] = [at] * (count + 1 - done)
        head = bytearray(self.table(b"head"))
        head[8:12] = b"\0\0\0\0"  # checkSumAdjustment: not checked by PDF viewers
        head[50:52] = struct.pack(">h", 1)  # long offsets in loca
        hhea = bytearray(self.table(b"hhea"))
        hhea[34:36] = struct.pack(">H", count)
        maxp = bytearray(self.table(b"maxp"))
        maxp[4:6] = struct.pack(">H", count)
        post = struct.pack(">I", 0x00030000) + self.table(b"post")[4:32]  # version 3: no glyph names
        tables = {b"glyf": b"".join(outlines), b"loca": struct.pack(f">{len(loca)}I", *loca), b"hmtx": bytes(hmtx),
                  b"head": bytes(head), b"hhea": bytes(hhea), b"maxp": bytes(maxp), b"post": post,
                  b"name": self._names}
        return _font_file({tag: tables.get(tag) or self.table(tag) for tag in _KEPT if tag in self.tables})


@lru_cache(maxsize=None)
def face(style: str) -> Face:
    """The face of `style` (a key of FACES), read from the font wheel once per process."""
    name = FACES[style]
    return Face(name, (files("font_source_sans_pro") / "files" / f"{name}.ttf").read_bytes())


def nfc(text: str) -> str:
    # One glyph for "é" typed as e + combining accent, as the face has the composed glyph.
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _table_directory(data: bytes) -> dict[bytes, tuple[int, int]]:
    count = struct.unpack_from(">H", data, 4)[0]
    out = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        out[tag] = (offset, length)
    return out


def _character_map(cmap: bytes) -> dict[int, int]:
    """Code point -> glyph id from the face's Unicode subtable (format 12 if present, else 4)."""
    count = struct.unpack_from(">H", cmap, 2)[0]
    subtables = {}
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
        subtables[struct.unpack_from(">H", cmap, offset)[0], platform, encoding] = offset
    for key in ((12, 3, 10), (12, 0, 4), (4, 3, 1), (4, 0, 3)):
        if key in subtables:
            return (_format12 if key[0] == 12 else _format4)(cmap, subtables[key])
    return {}


def _format12(cmap: bytes, offset: int) -> dict[int, int]:
    groups = struct.unpack_from(">I", cmap, offset + 12)[0]
    out = {}
    for i in range(groups):
        first, last, gid = struct.unpack_from(">III", cmap, offset + 16 + 12 * i)
        out.update(zip(range(first, last + 1), range(gid, gid + last - first + 1)))
    return out


def _format4(cmap: bytes, offset: int) -> dict[int, int]:
    segments = struct.unpack_from(">H", cmap, offset + 6)[0] // 2
    ends = struct.unpack_from(f">{segments}H", cmap, offset + 14)
    starts = struct.unpack_from(f">{segments}H", cmap, offset + 16 + 2 * segments)
    deltas = struct.unpack_from(f">{segments}h", cmap, offset + 16 + 4 * segments)
    range_at = offset + 16 + 6 * segments
    ranges = struct.unpack_from(f">{segments}H", cmap, range_at)
    out = {}
    for i, (start, end, delta, rng) in enumerate(zip(starts, ends, deltas, ranges)):
        for code in range(start, min(end, 0xFFFE) + 1):
            if rng == 0:
                gid = (code + delta) & 0xFFFF
            else:
                gid = struct.unpack_from(">H", cmap, range_at + 2 * i + rng + 2 * (code - start))[0]
                gid = (gid + delta) & 0xFFFF if gid else 0
            if gid:
                out[code] = gid
    return out


def _components(glyf: bytes, loca: list[int], gid: int) -> list[int]:
    start, end = loca[gid], loca[gid + 1]
    if end - start < 10 or struct.unpack_from(">h", glyf, start)[0] >= 0:
        return []  # empty or a simple outline
    out, at, flags = [], start + 10, _MORE
    while flags & _MORE:
        flags, component = struct.unpack_from(">HH", glyf, at)
        out.append(component)
        at += 4 + (4 if flags & _ARGS_ARE_WORDS else 2)
        at += 8 if flags & _TWO_BY_TWO else 4 if flags & _XY_SCALE else 2 if flags & _HAS_SCALE else 0
    return out


# -- kerning: the pair adjustments of the GPOS table's `kern` feature (OpenType, "GPOS") --------

_X_ADVANCE = 0x0004  # value format bits: x placement 1, y placement 2, x advance 4, y advance 8, ...


def _kerning_lookups(gpos: bytes) -> list[list[int]]:
    """Per lookup of the `kern` feature (any script), in lookup order, the offsets of its pair
    adjustment subtables (type 2, or type 2 inside an extension, type 9)."""
    if not gpos:
        return []
    features, lookups = struct.unpack_from(">HH", gpos, 6)
    indices = set()
    for i in range(struct.unpack_from(">H", gpos, features)[0]):
        tag, offset = struct.unpack_from(">4sH", gpos, features + 2 + 6 * i)
        if tag == b"kern":
            count = struct.unpack_from(">H", gpos, features + offset + 2)[0]
            indices.update(struct.unpack_from(f">{count}H", gpos, features + offset + 4))
    offsets = struct.unpack_from(f">{struct.unpack_from('>H', gpos, lookups)[0]}H", gpos, lookups + 2)
    out = []
    for index in sorted(indices):
        at = lookups + offsets[index]
        kind, _flags, count = struct.unpack_from(">HHH", gpos, at)
        subtables = []
        for sub in struct.unpack_from(f">{count}H", gpos, at + 6):
            start = at + sub
            if kind == 9:  # an extension: the real type and a 32-bit offset
                _format, kind_inside, extension = struct.unpack_from(">HHI", gpos, start)
                if kind_inside == 2:
                    subtables.append(start + extension)
            elif kind == 2:
                subtables.append(start)
        out.append(subtables)
    return out


def _pair_value(gpos: bytes, lookups: list[list[int]], left: int, right: int) -> int:
    """The x-advance adjustment of the pair, in font units: in each lookup, the first subtable
    that covers the pair applies; the lookups' adjustments add up."""
    total = 0
    for subtables in lookups:
        for start in subtables:
            found = _in_subtable(gpos, start, left, right)
            if found is not None:
                total += found
                break
    return total


def _in_subtable(gpos: bytes, start: int, left: int, right: int) -> int | None:
    form, coverage, format1, format2 = struct.unpack_from(">HHHH", gpos, start)
    index = _coverage_index(gpos, start + coverage, left)
    if index is None:
        return None
    size = 2 * (bin(format1).count("1") + bin(format2).count("1"))
    if form == 1:  # pairs listed glyph by glyph: a set per first glyph, sorted by second glyph
        pair_set = start + struct.unpack_from(">H", gpos, start + 10 + 2 * index)[0]
        count = struct.unpack_from(">H", gpos, pair_set)[0]
        record = 2 + size
        i = _lower_bound(gpos, pair_set + 2, count, record, right)
        if i < count and struct.unpack_from(">H", gpos, pair_set + 2 + i * record)[0] == right:
            return _x_advance(gpos, pair_set + 4 + i * record, format1)
        return None
    if form == 2:  # pairs by class: a value per (class of the first glyph, class of the second)
        class_def1, class_def2, _count1, count2 = struct.unpack_from(">HHHH", gpos, start + 8)
        first, second = _class(gpos, start + class_def1, left), _class(gpos, start + class_def2, right)
        return _x_advance(gpos, start + 16 + (first * count2 + second) * size, format1)
    return None


def _x_advance(gpos: bytes, at: int, value_format: int) -> int:
    if not value_format & _X_ADVANCE:
        return 0
    return struct.unpack_from(">h", gpos, at + 2 * bin(value_format & 0x0003).count("1"))[0]


def _coverage_index(data: bytes, at: int, gid: int) -> int | None:
    form, count = struct.unpack_from(">HH", data, at)
    if form == 1:  # sorted glyph ids
        i = _lower_bound(data, at + 4, count, 2, gid)
        return i if i < count and struct.unpack_from(">H", data, at + 4 + 2 * i)[0] == gid else None
    found = _in_ranges(data, at + 4, count, gid)  # the value of a range: the coverage index of its first
    return None if found is None else found[1] + gid - found[0]


def _class(data: bytes, at: int, gid: int) -> int:
    form = struct.unpack_from(">H", data, at)[0]
    if form == 1:  # consecutive glyphs from a first one
        first, count = struct.unpack_from(">HH", data, at + 2)
        return struct.unpack_from(">H", data, at + 6 + 2 * (gid - first))[0] if first <= gid < first + count else 0
    found = _in_ranges(data, at + 4, struct.unpack_from(">H", data, at + 2)[0], gid)
    return 0 if found is None else found[1]


def _in_ranges(data: bytes, at: int, count: int, gid: int) -> tuple[int, int] | None:
    """(first glyph, value) of the range that holds `gid`, of `count` ranges (first glyph, last
    glyph, value; 6 bytes each, sorted) from `at`; None when no range holds it."""
    i = _lower_bound(data, at + 2, count, 6, gid)  # by each range's last glyph
    if i < count:
        first, _last, value = struct.unpack_from(">HHH", data, at + 6 * i)
        if first <= gid:
            return first, value
    return None


def _lower_bound(data: bytes, at: int, count: int, stride: int, gid: int) -> int:
    """The index of the first of `count` records from `at`, `stride` bytes apart and sorted by
    the glyph id they start with, whose glyph id is not below `gid` (`count` when none)."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if struct.unpack_from(">H", data, at + middle * stride)[0] < gid:
            low = middle + 1
        else:
            high = middle
    return low


def _short_names(name: bytes) -> bytes:
    """A `name` table with only the Windows English family, style, full and PostScript names
    (ids 1, 2, 4, 6): the rest (licence text, URLs) is 3 KB a face that no viewer reads."""
    count, strings = struct.unpack_from(">HH", name, 2)
    records, data = [], b""
    for i in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(">6H", name, 6 + 12 * i)
        if (platform, encoding, language) == (3, 1, 0x409) and name_id in (1, 2, 4, 6):
            records.append(struct.pack(">6H", platform, encoding, language, name_id, length, len(data)))
            data += name[strings + offset:strings + offset + length]
    return struct.pack(">3H", 0, len(records), 6 + 12 * len(records)) + b"".join(records) + data


def _font_file(tables: dict[bytes, bytes]) -> bytes:
    """An sfnt file of `tables`, in tag order, each 4-byte aligned, with its checksum."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, 16 * power, power.bit_length() - 1, 16 * (count - power))
    directory, body, offset = [], [], 12 + 16 * count
    for tag in tags:
        data = tables[tag]
        padded = data + b"\0" * (-len(data) % 4)
        words = array.array("I", padded)
        if sys.byteorder == "little":
            words.byteswap()
        checksum = sum(words) & 0xFFFFFFFF
        directory.append(struct.pack(">4sIII", tag, checksum, offset, len(data)))
        body.append(padded)
        offset += len(padded)
    return header + b"".join(directory) + b"".join(body)
