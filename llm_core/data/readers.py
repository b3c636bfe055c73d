"""Readers for the file formats the default corpus ships in. Pure parsing: no downloads.

- `sword_ztext`: a SWORD zText Bible module (the `ot`/`nt` `.bzs` `.bzz` `.bzv` files).
- `r_rdata`: an R lazy-load database (`Rdata.rdb` + `Rdata.rdx`), through a small
  reader of R's XDR serialization.
- `fortunes`: a fortune(6) text file, entries separated by `%` lines.
- `html_text`: the visible prose of an HTML page.

Every reader raises `ValueError` naming the file and what is wrong when the input is
corrupt, so a bad download is never mistaken for an empty corpus.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import re
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

# ---------------------------------------------------------------------------
# SWORD zText
# ---------------------------------------------------------------------------

# The KJV versification as SWORD indexes it: OSIS book id, English name, verses per
# chapter. Public fact (the chapter/verse counts of the King James Bible); the record
# layout below is derived from it. Checked against the chapter markers inside the
# KJV and RV1909 modules every time a module is read with versification="KJV".
KJV_BOOKS_OT = """
Gen Genesis 31 25 24 26 32 22 24 22 29 32 32 20 18 24 21 16 27 33 38 18 34 24 20 67 34 35 46 22 35 43 55 32 20 31 29 43 36 30 23 23 57 38 34 34 28 34 31 22 33 26
Exod Exodus 22 25 22 31 23 30 25 32 35 29 10 51 22 31 27 36 16 27 25 26 36 31 33 18 40 37 21 43 46 38 18 35 23 35 35 38 29 31 43 38
Lev Leviticus 17 16 17 35 19 30 38 36 24 20 47 8 59 57 33 34 16 30 37 27 24 33 44 23 55 46 34
Num Numbers 54 34 51 49 31 27 89 26 23 36 35 16 33 45 41 50 13 32 22 29 35 41 30 25 18 65 23 31 40 16 54 42 56 29 34 13
Deut Deuteronomy 46 37 29 49 33 25 26 20 29 22 32 32 18 29 23 22 20 22 21 20 23 30 25 22 19 19 26 68 29 20 30 52 29 12
Josh Joshua 18 24 17 24 15 27 26 35 27 43 23 24 33 15 63 10 18 28 51 9 45 34 16 33
Judg Judges 36 23 31 24 31 40 25 35 57 18 40 15 25 20 20 31 13 31 30 48 25
Ruth Ruth 22 23 18 22
1Sam 1_Samuel 28 36 21 22 12 21 17 22 27 27 15 25 23 52 35 23 58 30 24 42 15 23 29 22 44 25 12 25 11 31 13
2Sam 2_Samuel 27 32 39 12 25 23 29 18 13 19 27 31 39 33 37 23 29 33 43 26 22 51 39 25
1Kgs 1_Kings 53 46 28 34 18 38 51 66 28 29 43 33 34 31 34 34 24 46 21 43 29 53
2Kgs 2_Kings 18 25 27 44 27 33 20 29 37 36 21 21 25 29 38 20 41 37 37 21 26 20 37 20 30
1Chr 1_Chronicles 54 55 24 43 26 81 40 40 44 14 47 40 14 17 29 43 27 17 19 8 30 19 32 31 31 32 34 21 30
2Chr 2_Chronicles 17 18 17 22 14 42 22 18 31 19 23 16 22 15 19 14 19 34 11 37 20 12 21 27 28 23 9 27 36 27 21 33 25 33 27 23
Ezra Ezra 11 70 13 24 17 22 28 36 15 44
Neh Nehemiah 11 20 32 23 19 19 73 18 38 39 36 47 31
Esth Esther 22 23 15 17 14 14 10 17 32 3
Job Job 22 13 26 21 27 30 21 22 35 22 20 25 28 22 35 22 16 21 29 29 34 30 17 25 6 14 23 28 25 31 40 22 33 37 16 33 24 41 30 24 34 17
Ps Psalms 6 12 8 8 12 10 17 9 20 18 7 8 6 7 5 11 15 50 14 9 13 31 6 10 22 12 14 9 11 12 24 11 22 22 28 12 40 22 13 17 13 11 5 26 17 11 9 14 20 23 19 9 6 7 23 13 11 11 17 12 8 12 11 10 13 20 7 35 36 5 24 20 28 23 10 12 20 72 13 19 16 8 18 12 13 17 7 18 52 17 16 15 5 23 11 13 12 9 9 5 8 28 22 35 45 48 43 13 31 7 10 10 9 8 18 19 2 29 176 7 8 9 4 8 5 6 5 6 8 8 3 18 3 3 21 26 9 8 24 13 10 7 12 15 21 10 20 14 9 6
Prov Proverbs 33 22 35 27 23 35 27 36 18 32 31 28 25 35 33 33 28 24 29 30 31 29 35 34 28 28 27 28 27 33 31
Eccl Ecclesiastes 18 26 22 16 20 12 29 17 18 20 10 14
Song Song_of_Solomon 17 17 11 16 16 13 13 14
Isa Isaiah 31 22 26 6 30 13 25 22 21 34 16 6 22 32 9 14 14 7 25 6 17 25 18 23 12 21 13 29 24 33 9 20 24 17 10 22 38 22 8 31 29 25 28 28 25 13 15 22 26 11 23 15 12 17 13 12 21 14 21 22 11 12 19 12 25 24
Jer Jeremiah 19 37 25 31 31 30 34 22 26 25 23 17 27 22 21 21 27 23 15 18 14 30 40 10 38 24 22 17 32 24 40 44 26 22 19 32 21 28 18 16 18 22 13 30 5 28 7 47 39 46 64 34
Lam Lamentations 22 22 66 22 22
Ezek Ezekiel 28 10 27 17 17 14 27 18 11 22 25 28 23 23 8 63 24 32 14 49 32 31 49 27 17 21 36 26 21 26 18 32 33 31 15 38 28 23 29 49 26 20 27 31 25 24 23 35
Dan Daniel 21 49 30 37 31 28 28 27 27 21 45 13
Hos Hosea 11 23 5 19 15 11 16 14 17 15 12 14 16 9
Joel Joel 20 32 21
Amos Amos 15 16 15 13 27 14 17 14 15
Obad Obadiah 21
Jonah Jonah 17 10 10 11
Mic Micah 16 13 12 13 15 16 20
Nah Nahum 15 13 19
Hab Habakkuk 17 20 19
Zeph Zephaniah 18 15 20
Hag Haggai 15 23
Zech Zechariah 21 13 10 14 11 15 14 23 17 12 17 14 9 21
Mal Malachi 14 17 18 6
"""

KJV_BOOKS_NT = """
Matt Matthew 25 23 17 25 48 34 29 34 38 42 30 50 58 36 39 28 27 35 30 34 46 46 39 51 46 75 66 20
Mark Mark 45 28 35 41 43 56 37 38 50 52 33 44 37 72 47 20
Luke Luke 80 52 38 44 39 49 50 56 62 42 54 59 35 35 32 31 37 43 48 47 38 71 56 53
John John 51 25 36 54 47 71 53 59 41 42 57 50 38 31 27 33 26 40 42 31 25
Acts Acts 26 47 26 37 42 15 60 40 43 48 30 25 52 28 41 40 34 28 41 38 40 30 35 27 27 32 44 31
Rom Romans 32 29 31 25 21 23 25 39 33 21 36 21 14 23 33 27
1Cor 1_Corinthians 31 16 23 21 13 20 40 13 27 33 34 31 13 40 58 24
2Cor 2_Corinthians 24 17 18 18 21 18 16 24 15 18 33 21 14
Gal Galatians 24 21 29 31 26 18
Eph Ephesians 23 22 21 32 33 24
Phil Philippians 30 30 21 23
Col Colossians 29 23 25 18
1Thess 1_Thessalonians 10 20 13 18 28
2Thess 2_Thessalonians 12 17 18
1Tim 1_Timothy 20 15 16 16 25 21
2Tim 2_Timothy 18 26 17 22
Titus Titus 16 15 15
Phlm Philemon 25
Heb Hebrews 14 18 19 16 14 20 28 13 28 39 40 29 25
Jas James 27 26 18 17 20
1Pet 1_Peter 25 25 22 19 14
2Pet 2_Peter 21 22 18
1John 1_John 10 29 24 21 21
2John 2_John 13
3John 3_John 14
Jude Jude 25
Rev Revelation 20 29 22 11 14 17 17 13 21 11 19 17 18 20 8 21 18 24 21 15 27 21
"""


def _parse_canon(table: str) -> list[tuple[str, str, list[int]]]:
    books = []
    for line in table.strip().splitlines():
        osis, name, *counts = line.split()
        books.append((osis, name.replace("_", " "), [int(c) for c in counts]))
    return books


CANONS = {"KJV": {"ot": _parse_canon(KJV_BOOKS_OT), "nt": _parse_canon(KJV_BOOKS_NT)}}
BOOK_NAMES = {osis: name for books in CANONS["KJV"].values() for osis, name, _ in books}


@dataclass(frozen=True)
class Verse:
    """One record of a SWORD module. `index` is the record's position in its testament
    file, so two modules with the same versification align on (testament, index).
    `verse` 0 is an introduction slot (a book title, chapter 0, or a chapter heading)."""

    index: int
    testament: str
    text: str
    book: str | None = None
    chapter: int | None = None
    verse: int | None = None
    lemmas: frozenset[str] = frozenset()  # Strong's numbers of its words, where the module tags them

    @property
    def ref(self) -> str:
        return f"{self.book}.{self.chapter}.{self.verse}"


def versification_layout(name: str, testament: str) -> list[tuple[str | None, int, int]]:
    """(book, chapter, verse) for every record of a testament file.

    SWORD's layout: record 0 is empty, record 1 the testament heading; then each book
    has an intro record (chapter 0, verse 0) and each chapter an intro record (verse 0)
    followed by its verses."""
    layout: list[tuple[str | None, int, int]] = [(None, 0, 0), (None, 0, 0)]
    for osis, _, counts in CANONS[name][testament]:
        layout.append((osis, 0, 0))
        for chapter, n_verses in enumerate(counts, start=1):
            layout.extend((osis, chapter, v) for v in range(n_verses + 1))
    return layout


_NOTE = re.compile(r"<note\b[^>]*/>|<note\b[^>]*>.*?(?:</note>|$)", re.S)
_TAG = re.compile(r"<[^>]*(?:>|$)")  # `$`: a record cut short mid-tag (WEB's DanGr)
_CHAPTER_START = re.compile(r'<chapter\b[^>]*\bsID="([^"]+)"[^>]*>')
_LEMMA = re.compile(r'\blemma="([^"]*)"')
_STRONG = re.compile(r"\b[HG]\d+\b")
_BOOK_START = re.compile(r'<div\b(?=[^>]*\btype="book")(?=[^>]*\bsID=)[^>]*\bosisID="([^"]+)"[^>]*>')


def osis_text(markup: str) -> str:
    """Plain text of an OSIS fragment: notes become a space (or the words on either
    side would fuse), other tags go, entities are unescaped, whitespace collapses."""
    text = _TAG.sub("", _NOTE.sub(" ", markup))
    return " ".join(unescape(text).split())


def osis_lemmas(markup: str) -> frozenset[str]:
    """The Strong's numbers (H7225, G2316, ...) tagged on the words of an OSIS fragment:
    what lets two translations be checked for verse alignment. An attribute may hold
    several ("strong:H5315 H2416")."""
    attrs = _LEMMA.findall(markup)
    return frozenset(_STRONG.findall(" ".join(attrs))) if attrs else frozenset()


def _read_table(path: Path, record: str) -> list[tuple[int, ...]]:
    data = path.read_bytes()
    size = struct.calcsize(record)
    if len(data) % size:
        raise ValueError(f"{path}: {len(data)} bytes is not a whole number of {size}-byte records (truncated?)")
    return list(struct.iter_unpack(record, data))


class _Blocks:
    """The zlib blocks of a `.bzz`, decompressed on demand. Records come in book order,
    so a few cached blocks mean each block is inflated once."""

    def __init__(self, bzz: Path, bzs: Path, keep: int = 4):
        self.path, self.data = bzz, bzz.read_bytes()
        self.table = _read_table(bzs, "<III")
        self.cache: OrderedDict[int, bytes] = OrderedDict()
        self.keep = keep

    def get(self, number: int) -> bytes:
        if number in self.cache:
            self.cache.move_to_end(number)
            return self.cache[number]
        if number >= len(self.table):
            raise ValueError(f"{self.path}: block {number} requested, the .bzs lists {len(self.table)}")
        offset, csize, usize = self.table[number]
        try:
            block = zlib.decompress(self.data[offset : offset + csize])
        except zlib.error as e:
            raise ValueError(f"{self.path}: block {number} (offset {offset}, {csize} bytes) does not inflate: {e}") from None
        if len(block) != usize:
            raise ValueError(f"{self.path}: block {number} inflates to {len(block)} bytes, the .bzs says {usize}")
        self.cache[number] = block
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return block


def _raw_records(module_dir: Path, testament: str) -> Iterator[tuple[int, str]]:
    """(index, markup) of every non-empty record of one testament file."""
    base = module_dir / testament
    bzv = base.with_suffix(".bzv")
    blocks = _Blocks(base.with_suffix(".bzz"), base.with_suffix(".bzs"))
    for index, (block, offset, size) in enumerate(_read_table(bzv, "<IIH")):
        if size == 0:
            continue
        data = blocks.get(block)
        if offset + size > len(data):
            raise ValueError(f"{bzv}: record {index} reads past the end of block {block}")
        try:
            yield index, data[offset : offset + size].decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{bzv}: record {index} is not UTF-8: {e}") from None


def sword_ztext(module_dir: str | Path, versification: str | None = None, lemmas: bool = False) -> Iterator[Verse]:
    """Every record with text of a SWORD zText module, OT then NT, in versification order.

    versification="KJV": book/chapter/verse come from the KJV table (the chapter markers
    in the text must agree, or ValueError). None: they come from the OSIS book and
    chapter markers inside the text, which also works for other versifications; a
    record holding several chapters is then split at its chapter markers.
    Records that are empty once the markup is gone (headings made only of markers) are
    skipped; testaments whose files are absent are skipped too (NT-only modules).
    lemmas=True fills `Verse.lemmas` with the Strong's numbers (it costs a regex pass)."""
    module_dir = Path(module_dir)
    found = [t for t in ("ot", "nt") if (module_dir / f"{t}.bzv").exists()]
    if not found:
        raise ValueError(f"{module_dir}: no ot.bzv or nt.bzv, not a SWORD zText module")
    for testament in found:
        records = _raw_records(module_dir, testament)
        strongs = osis_lemmas if lemmas else (lambda markup: frozenset())
        if versification is None:
            yield from _verses_by_markers(records, testament, strongs)
        else:
            yield from _verses_by_table(records, testament, module_dir, versification, strongs)


def _verses_by_table(records: Iterator[tuple[int, str]], testament: str, module_dir: Path, name: str,
                     strongs) -> Iterator[Verse]:
    if name not in CANONS:
        raise ValueError(f"unknown versification {name!r}; known: {sorted(CANONS)} (or None to follow the markers)")
    layout = versification_layout(name, testament)
    n_records = (module_dir / f"{testament}.bzv").stat().st_size // 10
    if n_records != len(layout):
        raise ValueError(f"{module_dir}/{testament}.bzv has {n_records} records; the {name} versification has {len(layout)}")
    for index, markup in records:
        book, chapter, verse = layout[index]
        for sid in _CHAPTER_START.findall(markup):
            if sid != f"{book}.{chapter}" or verse != 0:
                raise ValueError(f"{module_dir}/{testament}: record {index} starts chapter {sid}, "
                                 f"but the {name} versification puts {book}.{chapter}.{verse} there")
        text = osis_text(markup)
        if text:
            yield Verse(index, testament, text, book, chapter, verse, strongs(markup))


def _verses_by_markers(records: Iterator[tuple[int, str]], testament: str, strongs) -> Iterator[Verse]:
    book, chapter, verse, last = None, 0, 0, -1
    for index, markup in records:
        # a slot that an empty record left out still counts as a verse
        verse += index - last - 1
        last = index
        pieces = _CHAPTER_START.split(markup)  # [before, sid1, after1, sid2, after2, ...]
        head = pieces[0]
        if (m := _BOOK_START.search(head)):
            book, chapter, verse = m.group(1), 0, 0
        else:
            verse += 1
        if (text := osis_text(head)):
            yield Verse(index, testament, text, book, chapter, verse, strongs(head))
        for sid, body in zip(pieces[1::2], pieces[2::2]):
            book, _, number = sid.rpartition(".")
            chapter, verse = int(number), 0
            if (text := osis_text(body)):
                yield Verse(index, testament, text, book, chapter, verse, strongs(body))


# ---------------------------------------------------------------------------
# R serialization (XDR) and lazy-load databases
# ---------------------------------------------------------------------------

NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP, DOTSXP = 9, 10, 13, 14, 15, 16, 17
VECSXP, EXPRSXP, RAWSXP = 19, 20, 24
ALTREP_SXP, ATTRLISTSXP, ATTRLANGSXP, BASEENV_SXP, EMPTYENV_SXP = 238, 239, 240, 241, 242
GLOBALENV_SXP, NILVALUE_SXP, REFSXP = 253, 254, 255
NA_INTEGER = -(2**31)
_SPECIAL_ENVS = {BASEENV_SXP: "<baseenv>", EMPTYENV_SXP: "<emptyenv>", GLOBALENV_SXP: "<globalenv>"}


class RVector(list):
    """An R vector or list as a Python list, with its R attributes (names, class, ...)."""

    def __init__(self, items=(), attrs: dict[str, Any] | None = None, rtype: int = 0):
        super().__init__(items)
        self.attrs = attrs or {}
        self.rtype = rtype

    def named(self) -> dict[str, Any]:
        names = self.attrs.get("names") or []
        if len(names) != len(self):
            raise ValueError(f"R list has {len(self)} elements but {len(names)} names")
        return dict(zip(names, self))


class RSymbol(str):
    """An R symbol (a name), kept apart from strings."""


class _RReader:
    """Reads one object from an R serialization in XDR format (version 2 or 3).

    Covers what data files hold: vectors, lists, pairlists, attributes, symbols,
    environments, references and the compact ALTREP sequences. Anything else (code,
    bytecode, external pointers) raises ValueError naming the source and type number."""

    def __init__(self, data: bytes, source: str):
        self.data, self.pos, self.source = data, 0, source
        self.refs: list[Any] = []
        self.native = "utf-8"

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{self.source}: {what} (at byte {self.pos} of the R serialization)")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"needs {n} more bytes, only {len(self.data) - self.pos} left (truncated?)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def length(self) -> int:
        n = self.int32()
        if n == -1:  # a long vector: the length follows as two 32-bit halves
            upper, lower = self.int32(), self.int32()
            n = (upper << 32) + (lower & 0xFFFFFFFF)
        if n < 0:
            raise self.fail(f"negative vector length {n} (corrupt data)")
        return n

    def header(self) -> None:
        magic = self.take(2)
        if magic != b"X\n":
            raise self.fail(f"header {magic!r} is not XDR ('X\\n'); ascii or native-binary R files are not read")
        version = self.int32()
        self.int32(), self.int32()  # the R version that wrote it, the oldest that reads it
        if version == 3:
            self.native = self.take(self.int32()).decode("ascii", "replace").lower()
        elif version != 2:
            raise self.fail(f"serialization format version {version} (only 2 and 3 are read)")

    def object(self) -> Any:
        self.header()
        return self.item()

    def item(self) -> Any:
        flags = self.int32()
        kind, levels = flags & 0xFF, flags >> 12
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == NILVALUE_SXP:
            return None
        if kind in _SPECIAL_ENVS:
            return _SPECIAL_ENVS[kind]
        if kind == REFSXP:
            ref = flags >> 8 or self.int32()
            if not 0 < ref <= len(self.refs):
                raise self.fail(f"reference {ref} to one of {len(self.refs)} objects")
            return self.refs[ref - 1]
        if kind == SYMSXP:
            symbol = RSymbol(self.item() or "")
            self.refs.append(symbol)
            return symbol
        if kind == ENVSXP:
            return self.environment()
        if kind in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLISTSXP, ATTRLANGSXP):
            return self.pairlist(flags)
        if kind == CHARSXP:
            return self.string(levels)
        if kind == ALTREP_SXP:
            return self.altrep()
        value = self.vector(kind)
        if has_attr:
            value.attrs = self.attributes()
        elif has_tag:
            raise self.fail(f"type {kind} with a tag")
        return value

    def vector(self, kind: int) -> RVector:
        n = self.length()
        if kind in (LGLSXP, INTSXP):
            ints = struct.unpack(f">{n}i", self.take(4 * n))
            items = [None if i == NA_INTEGER else (bool(i) if kind == LGLSXP else i) for i in ints]
        elif kind == REALSXP:
            items = list(struct.unpack(f">{n}d", self.take(8 * n)))
        elif kind == CPLXSXP:
            parts = struct.unpack(f">{2 * n}d", self.take(16 * n))
            items = [complex(parts[i], parts[i + 1]) for i in range(0, 2 * n, 2)]
        elif kind == RAWSXP:
            items = list(self.take(n))
        elif kind in (STRSXP, VECSXP, EXPRSXP):
            items = [self.item() for _ in range(n)]
        else:
            raise self.fail(f"unsupported R object type {kind} (SEXPTYPE)")
        return RVector(items, rtype=kind)

    def string(self, levels: int) -> str | None:
        n = self.int32()
        if n == -1:
            return None  # NA_character_
        raw = self.take(n)
        if levels & (1 << 2):  # LATIN1
            return raw.decode("latin-1")
        if levels & (1 << 1):  # BYTES: no declared encoding, keep every byte
            return raw.decode("utf-8", "surrogateescape")
        encoding = "utf-8" if levels & ((1 << 3) | (1 << 6)) else self.native  # UTF8, ASCII
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise self.fail(f"a string is not valid {encoding}") from None

    def pairlist(self, flags: int) -> RVector:
        """A pairlist as an RVector with `names` from its tags (R's own view of it)."""
        kind, items, names, first_attrs = flags & 0xFF, [], [], None
        while True:
            attrs = self.attributes() if flags & (1 << 9) else None
            tag = self.item() if flags & (1 << 10) else None
            items.append(self.item())
            names.append(str(tag) if tag is not None else "")
            if len(items) == 1:
                first_attrs = attrs  # the pairlist's own attributes sit on its first cell
            flags = self.int32()  # the CDR: another cell, or the end
            if (flags & 0xFF) == NILVALUE_SXP:
                break
            if (flags & 0xFF) not in (LISTSXP, LANGSXP, ATTRLISTSXP, ATTRLANGSXP, DOTSXP):
                self.pos -= 4
                items.append(self.item())  # an improper list tail: keep it, unnamed
                names.append("")
                break
        out = RVector(items, rtype=kind)
        out.attrs = {"names": names} if any(names) else {}
        out.attrs.update(first_attrs or {})
        return out

    def attributes(self) -> dict[str, Any]:
        attrs = self.item()
        if not isinstance(attrs, RVector):
            raise self.fail(f"attributes are a {type(attrs).__name__}, not a pairlist")
        return attrs.named()

    def environment(self) -> dict[str, Any]:
        env: dict[str, Any] = {}
        self.refs.append(env)  # before its contents: they may refer back to it
        self.int32()  # locked flag
        enclosure, frame, hashtab, attrs = self.item(), self.item(), self.item(), self.item()
        if isinstance(frame, RVector):
            env.update(frame.named())
        for bucket in hashtab or []:
            if isinstance(bucket, RVector):
                env.update(bucket.named())
        return env

    def altrep(self) -> RVector:
        info, state, attrs = self.item(), self.item(), self.item()
        cls = str(info[0]) if isinstance(info, RVector) and info else "?"
        if cls in ("compact_intseq", "compact_realseq"):
            n, start, step = state[0], state[1], state[2]
            seq = [start + i * step for i in range(int(n))]
            out = RVector([int(x) for x in seq] if cls == "compact_intseq" else seq)
        elif cls.startswith("wrap_"):
            out = RVector(state[0])
        elif cls == "deferred_string":
            out = RVector([str(x) for x in state[0]], rtype=STRSXP)
        else:
            raise self.fail(f"unsupported ALTREP class {cls!r}")
        if isinstance(attrs, RVector):
            out.attrs = attrs.named()
        return out


def _inflate(blob: bytes, source: str) -> bytes:
    """A whole-file compression (the .rdx, .rds): gzip, bzip2, xz, zlib or none."""
    try:
        if blob[:2] == b"\x1f\x8b":
            return gzip.decompress(blob)
        if blob[:3] == b"BZh":
            return bz2.decompress(blob)
        if blob[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(blob)
        if blob[:1] == b"x":
            return zlib.decompress(blob)
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
        raise ValueError(f"{source}: compressed data is corrupt: {e}") from None
    return blob


def r_unserialize(data: bytes, source: str = "R data") -> Any:
    """One R object from its serialization (compressed or not)."""
    return _RReader(_inflate(data, source), source).object()


def _rdb_entry(blob: bytes, compressed: Any, source: str) -> bytes:
    """An entry of a lazy-load .rdb: 4-byte big-endian uncompressed length, then the
    compressed serialization (zlib; with compress=2/3 a type byte picks the method)."""
    if len(blob) < 5:
        raise ValueError(f"{source}: entry of {len(blob)} bytes is too short")
    expected, body = int.from_bytes(blob[:4], "big"), blob[4:]
    method = b"Z"
    if compressed in (2, 3):
        method, body = body[:1], body[1:]
    try:
        data = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": bytes}[method](body)
    except KeyError:
        raise ValueError(f"{source}: unknown compression type {method!r}") from None
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as e:
        raise ValueError(f"{source}: entry does not decompress: {e}") from None
    if len(data) != expected:
        raise ValueError(f"{source}: entry decompresses to {len(data)} bytes, its header says {expected}")
    return data


def r_lazyload(rdb_path: str | Path, rdx_path: str | Path) -> dict[str, Any]:
    """Every variable of an R lazy-load database, as Python objects (see `RVector`)."""
    rdb_path, rdx_path = Path(rdb_path), Path(rdx_path)
    index = r_unserialize(rdx_path.read_bytes(), str(rdx_path))
    if not isinstance(index, RVector) or "variables" not in index.attrs.get("names", []):
        raise ValueError(f"{rdx_path}: not a lazy-load index (no 'variables' list)")
    index = index.named()
    compressed = index.get("compressed")
    compressed = compressed[0] if isinstance(compressed, RVector) and compressed else True
    rdb = rdb_path.read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].named().items():
        offset, length = int(offset), int(length)
        if offset + length > len(rdb):
            raise ValueError(f"{rdb_path}: entry {name!r} at {offset}+{length} is past the end ({len(rdb)} bytes)")
        source = f"{rdb_path} [{name}]"
        data = _rdb_entry(rdb[offset : offset + length], compressed, source)
        out[name] = _RReader(data, source).object()
    return out


def r_rdata(rdb_path: str | Path, rdx_path: str | Path) -> dict[str, list[str | None]]:
    """The character vectors of an R lazy-load database (janeaustenr's `Rdata.rdb`):
    object name -> its elements (None for NA). Other objects (data frames, numbers)
    are left to `r_lazyload`."""
    return {name: list(obj) for name, obj in r_lazyload(rdb_path, rdx_path).items()
            if isinstance(obj, RVector) and obj.rtype == STRSXP}


# ---------------------------------------------------------------------------
# fortune files
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def fortunes(path: str | Path, fallback: str | None = None) -> Iterator[str]:
    """The entries of a fortune file, each with its lines' whitespace collapsed.

    The file must be UTF-8: otherwise ValueError names the file and the byte, unless
    `fallback` (e.g. "latin-1") is given, which decodes the file with it instead."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if fallback is None:
            raise ValueError(f"{path}: not UTF-8 (byte {e.start}: {raw[e.start:e.start + 4]!r}); "
                             f"pass fallback='latin-1' to read it anyway") from None
        text = raw.decode(fallback)
    entry: list[str] = []
    for line in text.splitlines() + ["%"]:
        if line.strip() == "%":
            body = "\n".join(entry).strip("\n")
            if body:
                yield body
            entry = []
        else:
            # control characters (a stray ESC in deprimente.fortunes) are terminal tricks, not text
            entry.append(" ".join(_CONTROL.sub("", line).split()))


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_BLOCK = {"address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption",
          "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "ol", "p", "section",
          "table", "td", "th", "tr", "ul", "br", "hr"}
# Not prose: program listings and terminal sessions (pre), scripts, the <head>.
SKIP_TAGS = frozenset({"head", "script", "style", "pre", "nav", "noscript", "template"})
# Boilerplate that DocBook/Publican repeats on every handbook page: the prev/next bars,
# the "Download the ebook" banner, tables of contents, index anchors.
SKIP_CLASSES = frozenset({"docnav", "toc", "indexterm", "list-of-examples", "list-of-figures", "list-of-tables"})
SKIP_IDS = frozenset({"banner", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self, skip_tags: frozenset, skip_classes: frozenset, skip_ids: frozenset):
        super().__init__(convert_charrefs=True)
        self.skip_tags, self.skip_classes, self.skip_ids = skip_tags, skip_classes, skip_ids
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.skipping: str | None = None  # the tag of the skipped element we are inside
        self.depth = 0  # nesting of that same tag inside it

    def _skip(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in self.skip_tags:
            return True
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        return bool(classes & self.skip_classes) or a.get("id") in self.skip_ids

    def _break(self) -> None:
        text = " ".join("".join(self.line).split())
        if text:
            self.blocks.append(text)
        self.line = []

    def handle_starttag(self, tag, attrs):
        if self.skipping:
            self.depth += tag == self.skipping
        elif tag not in _VOID and self._skip(tag, attrs):
            self.skipping, self.depth = tag, 1
        elif tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping:
                self.depth -= 1
                if self.depth == 0:
                    self.skipping = None
        elif tag in _BLOCK:
            self._break()

    def handle_startendtag(self, tag, attrs):  # <br/>, <a id="x"/>: nothing to skip inside
        if not self.skipping and tag in _BLOCK:
            self._break()

    def handle_data(self, data):
        if not self.skipping:
            self.line.append(data)


def html_text(html: str, skip_tags=SKIP_TAGS, skip_classes=SKIP_CLASSES, skip_ids=SKIP_IDS) -> str:
    """The visible prose of an HTML page: one line per block (paragraph, heading, list
    item, table cell), whitespace collapsed within it.

    Dropped: elements in `skip_tags` (code blocks in <pre>, scripts, styles, <head>)
    and elements whose class or id marks navigation boilerplate. Inline <code> is
    kept: the handbook writes commands mid-sentence ("use <code>apt</code> to ...")
    and dropping them would leave broken sentences."""
    parser = _TextExtractor(frozenset(skip_tags), frozenset(skip_classes), frozenset(skip_ids))
    parser.feed(html)
    parser.close()
    parser._break()
    return "\n".join(parser.blocks)
