"""Readers of the default corpus formats and the corpus assembly, on tiny synthetic files.

Every fixture is written here with struct/zlib/gzip (no network, no apt). One test at the
end reads the real Debian packages in the pipeline cache, data/cache/packages/
(or $FORJA_PACKAGES); it fetches them there with apt-get, or is skipped without apt.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from llm_core.data import default_corpus as dc
from llm_core.data import readers

# ---------------------------------------------------------------------------
# a fake SWORD zText module
# ---------------------------------------------------------------------------


def write_ztext(module: Path, testament: str, records: list[str | None], per_block: int = 3) -> None:
    """records[i] is record i's OSIS markup, or None for a size-0 slot; `per_block`
    records share a zlib block, as SWORD packs a book per block."""
    module.mkdir(parents=True, exist_ok=True)
    bzs, bzz, bzv = bytearray(), bytearray(), bytearray()
    for first in range(0, len(records), per_block):
        raw, entries = bytearray(), []
        for markup in records[first : first + per_block]:
            data = (markup or "").encode("utf-8")
            entries.append((len(raw), len(data)))
            raw += data
        block = len(bzs) // 12
        packed = zlib.compress(bytes(raw))
        bzs += struct.pack("<III", len(bzz), len(packed), len(raw))
        bzz += packed
        for offset, size in entries:
            bzv += struct.pack("<IIH", block, offset if size else 0, size)
    for ext, data in (("bzs", bzs), ("bzz", bzz), ("bzv", bzv)):
        (module / f"{testament}.{ext}").write_bytes(bytes(data))


BOOK = '<div osisID="Gen" sID="g1" type="book"/> <title type="main">Génesis</title>'
OT_RECORDS = [
    None,  # 0: empty
    '<milestone type="x-importer"/>',  # 1: testament heading, no text
    BOOK,  # 2: book intro
    '<chapter n="1" osisID="Gen.1" sID="Gen.1"/>',  # 3: chapter 1 intro
    '<w lemma="strong:H7225">EN el principio</w> crió <w lemma="strong:H0430">Dios</w>.',
    'Y la tierra<note placement="foot">Heb. <i>tohu</i></note>estaba &amp; vacía.',
    None,  # 6: Gen 1:3 missing in this module
    '<chapter eID="Gen.1"/> <chapter n="2" osisID="Gen.2" sID="Gen.2"/>',  # 7: chapter 2 intro
    'Fueron   acabados\n los cielos.',
]


@pytest.fixture
def module(tmp_path: Path) -> Path:
    d = tmp_path / "mod"
    write_ztext(d, "ot", OT_RECORDS)
    return d


def test_sword_by_markers(module):
    verses = list(readers.sword_ztext(module, lemmas=True))
    assert [(v.index, v.ref) for v in verses] == [
        (2, "Gen.0.0"), (4, "Gen.1.1"), (5, "Gen.1.2"), (8, "Gen.2.1")]
    assert verses[0].text == "Génesis"
    assert verses[1].text == "EN el principio crió Dios."
    assert verses[1].lemmas == {"H7225", "H0430"}
    assert verses[2].text == "Y la tierra estaba & vacía."  # the note leaves a space, the entity unescaped
    assert verses[3].text == "Fueron acabados los cielos."
    assert next(readers.sword_ztext(module)).lemmas == frozenset()  # only on request
    assert all(v.testament == "ot" for v in verses)


def test_sword_by_table_agrees_with_markers(module, monkeypatch):
    tiny = {"ot": [("Gen", "Genesis", [3, 1])], "nt": []}
    monkeypatch.setitem(readers.CANONS, "TINY", tiny)
    assert readers.versification_layout("TINY", "ot") == [
        (None, 0, 0), (None, 0, 0), ("Gen", 0, 0), ("Gen", 1, 0), ("Gen", 1, 1), ("Gen", 1, 2),
        ("Gen", 1, 3), ("Gen", 2, 0), ("Gen", 2, 1)]
    by_table = [(v.index, v.ref, v.text) for v in readers.sword_ztext(module, "TINY")]
    by_markers = [(v.index, v.ref, v.text) for v in readers.sword_ztext(module)]
    assert by_table == by_markers


def test_sword_table_mismatch_is_an_error(module, monkeypatch):
    monkeypatch.setitem(readers.CANONS, "SHIFTED", {"ot": [("Gen", "Genesis", [2, 2])], "nt": []})
    with pytest.raises(ValueError, match="starts chapter Gen.2"):
        list(readers.sword_ztext(module, "SHIFTED"))
    monkeypatch.setitem(readers.CANONS, "SHORT", {"ot": [("Gen", "Genesis", [1])], "nt": []})
    with pytest.raises(ValueError, match="has 9 records"):
        list(readers.sword_ztext(module, "SHORT"))


def test_sword_inflates_each_block_once(module, monkeypatch):
    calls = []
    real = zlib.decompress
    monkeypatch.setattr(readers.zlib, "decompress", lambda data: calls.append(1) or real(data))
    list(readers.sword_ztext(module))
    assert len(calls) == 3  # 9 records in blocks of 3


def test_sword_splits_a_record_holding_several_chapters(tmp_path):
    records = [None, None, '<div osisID="Dan" sID="d" type="book"/><chapter osisID="Dan.1" sID="Dan.1"/>Uno.'
               '<chapter osisID="Dan.2" sID="Dan.2"/>Dos <d', '<chapter osisID="Hos.1" sID="Hos.1"/>', "Tres."]
    write_ztext(tmp_path / "m", "nt", records)
    got = [(v.testament, v.ref, v.text) for v in readers.sword_ztext(tmp_path / "m")]
    assert got == [("nt", "Dan.1.0", "Uno."), ("nt", "Dan.2.0", "Dos"), ("nt", "Hos.1.1", "Tres.")]


def test_sword_corrupt_files(module):
    bzv = module / "ot.bzv"
    bzv.write_bytes(bzv.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        list(readers.sword_ztext(module))


def test_sword_corrupt_block_and_bad_offsets(tmp_path):
    write_ztext(tmp_path / "a", "ot", ["x", "y"])
    bzz = tmp_path / "a" / "ot.bzz"
    bzz.write_bytes(b"\0" * len(bzz.read_bytes()))
    with pytest.raises(ValueError, match="does not inflate"):
        list(readers.sword_ztext(tmp_path / "a"))
    write_ztext(tmp_path / "b", "ot", ["x"])
    (tmp_path / "b" / "ot.bzv").write_bytes(struct.pack("<IIH", 0, 0, 50))
    with pytest.raises(ValueError, match="past the end of block"):
        list(readers.sword_ztext(tmp_path / "b"))
    with pytest.raises(ValueError, match="not a SWORD zText module"):
        list(readers.sword_ztext(tmp_path / "nothing"))


def test_osis_text_drops_unclosed_notes_and_cut_tags():
    assert readers.osis_text("a<note>never closed") == "a"
    assert readers.osis_text("word<b/>s<lb type='x'/> end <div") == "words end"


# ---------------------------------------------------------------------------
# a fake R lazy-load database
# ---------------------------------------------------------------------------


class XDR:
    """Just enough of R's serialize() (XDR, format 3) to write the test objects."""

    def __init__(self) -> None:
        self.symbols: list[str] = []

    @staticmethod
    def i(n: int) -> bytes:
        return struct.pack(">i", n)

    def header(self) -> bytes:
        return b"X\n" + self.i(3) + self.i(0x040201) + self.i(0x030500) + self.i(5) + b"UTF-8"

    def char(self, s: str | None) -> bytes:
        if s is None:
            return self.i(9) + self.i(-1)
        data = s.encode("utf-8")
        return self.i(9 | (8 << 12)) + self.i(len(data)) + data  # levels: UTF8

    def symbol(self, name: str) -> bytes:
        if name in self.symbols:  # R writes a symbol once, then refers to it
            return self.i(((self.symbols.index(name) + 1) << 8) | 255)
        self.symbols.append(name)
        return self.i(1) + self.char(name)

    def attrs(self, names: list[str]) -> bytes:
        return self.i(2 | (1 << 10)) + self.symbol("names") + self.strings(names) + self.i(254)

    def strings(self, items, names=None) -> bytes:
        flags = 16 | (1 << 9 if names else 0)
        return self.i(flags) + self.i(len(items)) + b"".join(map(self.char, items)) + (self.attrs(names) if names else b"")

    def ints(self, items, kind: int = 13) -> bytes:
        return self.i(kind) + self.i(len(items)) + b"".join(self.i(x) for x in items)

    def vec(self, items: list[bytes], names=None) -> bytes:
        flags = 19 | (1 << 9 if names else 0)
        return self.i(flags) + self.i(len(items)) + b"".join(items) + (self.attrs(names) if names else b"")

    def serialize(self, body_fn) -> bytes:
        self.symbols = []
        return self.header() + body_fn(self)


def write_rdata(folder: Path, objects: dict[str, bytes]) -> tuple[Path, Path]:
    """objects: name -> the object's serialized body (without header)."""
    rdb, variables = bytearray(), {}
    for name, body in objects.items():
        data = XDR().header() + body
        entry = struct.pack(">I", len(data)) + zlib.compress(data)
        variables[name] = (len(rdb), len(entry))
        rdb += entry
    x = XDR()
    index = x.serialize(lambda x: x.vec(
        [x.vec([x.ints(list(v)) for v in variables.values()], names=list(variables)),
         x.vec([]),
         x.ints([1], kind=10)],
        names=["variables", "references", "compressed"]))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Rdata.rdb").write_bytes(bytes(rdb))
    (folder / "Rdata.rdx").write_bytes(gzip.compress(index))
    return folder / "Rdata.rdb", folder / "Rdata.rdx"


def test_r_rdata_reads_character_vectors(tmp_path):
    x = XDR()
    rdb, rdx = write_rdata(tmp_path, {
        "novel": x.strings(["CHAPTER 1", None, "Año"]),
        "named": XDR().strings(["a", "b"], names=["x", "y"]),
        "numbers": XDR().ints([1, -(2**31), 3]),
    })
    assert readers.r_rdata(rdb, rdx) == {"novel": ["CHAPTER 1", None, "Año"], "named": ["a", "b"]}
    objects = readers.r_lazyload(rdb, rdx)
    assert objects["numbers"] == [1, None, 3]
    assert objects["named"].attrs == {"names": ["x", "y"]}


def test_r_rdata_bad_entry_header(tmp_path):
    rdb, rdx = write_rdata(tmp_path, {"novel": XDR().strings(["x"])})
    data = bytearray(rdb.read_bytes())
    data[0:4] = struct.pack(">I", 999)  # the uncompressed length no longer matches
    rdb.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"Rdata.rdb \[novel\].*header says 999"):
        readers.r_rdata(rdb, rdx)
    rdb.write_bytes(bytes(data[:4]) + b"\0" * (len(data) - 4))
    with pytest.raises(ValueError, match="does not decompress"):
        readers.r_rdata(rdb, rdx)


def test_r_serialization_errors_name_file_and_type(tmp_path):
    rdb, rdx = write_rdata(tmp_path, {"weird": XDR.i(25) + XDR.i(0)})  # S4SXP
    with pytest.raises(ValueError, match=r"Rdata.rdb \[weird\].*type 25"):
        readers.r_rdata(rdb, rdx)
    with pytest.raises(ValueError, match="not XDR"):
        readers.r_unserialize(b"A\n2\n", "some.rds")
    with pytest.raises(ValueError, match="truncated"):
        readers.r_unserialize(XDR().header() + XDR.i(16) + XDR.i(5), "short.rds")
    (tmp_path / "x.rdx").write_bytes(gzip.compress(XDR().header() + XDR().strings(["no"])))
    with pytest.raises(ValueError, match="not a lazy-load index"):
        readers.r_lazyload(rdb, tmp_path / "x.rdx")


# ---------------------------------------------------------------------------
# fortunes and HTML
# ---------------------------------------------------------------------------


def test_fortunes(tmp_path):
    path = tmp_path / "es.fortunes"
    path.write_text("Primera línea\n  segunda\tlínea  \n%\n%\nDos\x1b \n\t\t-- Autor\n% \nTres\n", encoding="utf-8")
    assert list(readers.fortunes(path)) == ["Primera línea\nsegunda línea", "Dos\n-- Autor", "Tres"]


def test_fortunes_not_utf8(tmp_path):
    path = tmp_path / "latin1.fortunes"
    path.write_bytes("Año\n%\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.fortunes: not UTF-8"):
        list(readers.fortunes(path))
    assert list(readers.fortunes(path, fallback="latin-1")) == ["Año"]


PAGE = """<?xml version="1.0" encoding="UTF-8"?><html><head><title>Page title</title>
<style>p {color: red}</style><script>var x = "<p>no</p>";</script></head><body>
<div id="banner"><a href="x"><span>Download the ebook</span></a></div>
<ul class="docnav top"><li><a href="prev.html"><strong>Prev</strong></a></li></ul>
<h2 class="title">6.2. <code class="command">apt-get</code> &amp; friends</h2>
<div class="para">Use <code class="command">apt</code>   to install
   packages.<a class="indexterm" id="i1"></a></div>
<pre class="screen"><code>$ apt install foo</code>
<p>not prose either</p></pre>
<p>One<br/>two &lt;three&gt;</p><div class="toc"><ul><li>Chapter list</li></ul></div>
<ul><li>first item</li><li>second <em>item</em></li></ul>
<script>alert(1)</script><p>last</p>
<ul class="docnav"><li>Next</li></ul></body></html>"""


def test_html_text():
    assert readers.html_text(PAGE).split("\n") == [
        "6.2. apt-get & friends",
        "Use apt to install packages.",
        "One", "two <three>",
        "first item", "second item",
        "last",
    ]


def test_html_text_can_drop_inline_code_too():
    text = readers.html_text("<p>Use <code>apt</code> now</p><pre>x</pre>", skip_tags=readers.SKIP_TAGS | {"code"})
    assert text == "Use now"


# ---------------------------------------------------------------------------
# the corpus assembly, on fake unpacked packages
# ---------------------------------------------------------------------------


def fake_package(cache: Path, name: str, version: str = "1.0-1") -> Path:
    root = cache / name
    root.mkdir(parents=True, exist_ok=True)
    (root / dc.INFO_FILE).write_text(json.dumps({"package": name, "version": version}))
    return root


def test_fetch_packages_uses_the_cache(tmp_path, monkeypatch):
    fake_package(tmp_path, "fortunes-es")
    monkeypatch.setattr(dc.subprocess, "run", lambda *a, **k: pytest.fail("no download expected"))
    assert dc.fetch_packages(["fortunes-es"], tmp_path) == {"fortunes-es": tmp_path / "fortunes-es"}


def test_fetch_packages_without_apt(tmp_path, monkeypatch):
    monkeypatch.setattr(dc.shutil, "which", lambda tool: None)
    with pytest.raises(dc.CorpusUnavailable, match=r"(?s)'fortunes-es'.*apt-get.*params.yaml") as e:
        dc.fetch_packages(["fortunes-es"], tmp_path)
    assert e.value.package == "fortunes-es"


def test_fetch_packages_download_failure_updates_once_as_root(tmp_path, monkeypatch):
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        if cmd == ["apt-get", "update"]:
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package fortunes-es\n")

    monkeypatch.setattr(dc.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(dc.subprocess, "run", run)
    monkeypatch.setattr(dc.os, "geteuid", lambda: 0, raising=False)
    with pytest.raises(dc.CorpusUnavailable, match="Unable to locate package") as e:
        dc.fetch_packages(["fortunes-es"], tmp_path)
    assert calls == [["apt-get", "download", "fortunes-es"], ["apt-get", "update"], ["apt-get", "download", "fortunes-es"]]
    assert "apt-get update" in str(e.value)
    assert not (tmp_path / "fortunes-es").exists()


def test_fortune_documents_cap_and_report(tmp_path):
    root = fake_package(tmp_path, "fortunes-es", "1.36")
    folder = root / "usr/share/games/fortunes/es"
    folder.mkdir(parents=True)
    (folder / "refranes.fortunes").write_text(
        "A quien madruga, Dios le ayuda.\n%\nThe early bird gets the worm, and that is all there is to it.\n%\n"
        "Más vale tarde que nunca.\n%\nNo por mucho madrugar amanece más temprano.\n")
    (folder / "refranes.fortunes.u8").symlink_to("refranes.fortunes")
    report = dc.CollectReport()
    docs = list(dc.default_documents(tmp_path, sources=["fortunes-es"], max_chars={"fortunes-es": 60}, report=report))
    assert [d["id"] for d in docs] == ["fortunes-es/refranes/1", "fortunes-es/refranes/3"]
    assert docs[0] == {"id": "fortunes-es/refranes/1", "source": "fortunes-es", "text": "A quien madruga, Dios le ayuda.",
                       "meta": {**docs[0]["meta"], "lang": "es", "package": "fortunes-es", "package_version": "1.36",
                                "path": "usr/share/games/fortunes/es/refranes.fortunes", "entry": 1}}
    stats = report.sources["fortunes-es"]
    assert (stats.documents, stats.chars, stats.capped) == (2, 56, True)
    assert stats.skipped == {"fortune not in es": 1, "over the max_chars cap of 60": 1}
    assert report.by_language() == {"es": {"documents": 2, "chars": 56, "bytes": 57}}


def test_bible_documents_from_markers(tmp_path):
    root = fake_package(tmp_path, "sword-text-web")
    module = root / dc.SOURCES["web"].files
    write_ztext(module, "ot", [None, None, BOOK, '<chapter osisID="Gen.1" sID="Gen.1"/>', "In the beginning.",
                               "¶ Then light.", '<div osisID="DanGr" sID="x" type="book"/><chapter osisID="DanGr.1" '
                               'sID="DanGr.1"/>Greek.'])
    report = dc.CollectReport()
    docs = list(dc.default_documents(tmp_path, sources=["web"], report=report))
    assert [(d["id"], d["text"]) for d in docs] == [("web/Gen/1", "Génesis\nIn the beginning.\nThen light.")]
    assert docs[0]["meta"]["book_name"] == "Genesis" and docs[0]["meta"]["verses"] == 2
    assert dict(report.sources["web"].skipped) == {f"book DanGr: {dc.SOURCES['web'].options['skip_books']['DanGr']}": 1}


def test_aligned_verses_drop_shifted_pairs(tmp_path, monkeypatch):
    monkeypatch.setitem(readers.CANONS, "KJV", {"ot": [("Jonah", "Jonah", [2, 3])], "nt": []})

    def w(lemmas: str, text: str) -> str:
        return f'<w lemma="{" ".join("strong:" + x for x in lemmas.split())}">{text}</w>'

    es = [None, None, None, None, w("H1 H2", "uno"), w("H3 H4", "dos"), None,
          w("H5 H6 H7", "tres"), w("H8 H9", "cuatro"), w("H10", "cinco")]  # chapter 2 shifted by one
    en = [None, None, None, None, w("H1 H2", "one"), w("H3 H4 H99", "two"), None,
          w("H5 H6", "three"), w("H7", "four"), w("H8 H9", "five")]
    for name, records in (("rv1909", es), ("kjv", en)):
        source = dc.SOURCES[name]
        write_ztext(fake_package(tmp_path, source.package) / source.files, "ot", records)
    report = dc.CollectReport()
    pairs = list(dc.aligned_verses(tmp_path, report=report))
    assert pairs == [("Jonah.1.1", "uno", "one"), ("Jonah.1.2", "dos", "two"), ("Jonah.2.1", "tres", "three")]
    assert report.sources["aligned rv1909-kjv"].skipped == {
        "misaligned (Strong's numbers match a neighbour better, or too few)": 2}


def test_austen_chapters_and_drop_caps():
    lines = ["EMMA", "", "VOLUME I", "", "CHAPTER I", "", "Emma Woodhouse, handsome,", "clever.", "",
             "Second para.", "", "VOLUME II", "", "", "CHAPTER I", "Again."]
    assert list(dc.austen_chapters(lines)) == [
        (0, "front matter", None, "EMMA"),
        (1, "CHAPTER I", "I", "VOLUME I\nCHAPTER I\nEmma Woodhouse, handsome, clever.\nSecond para."),
        (2, "CHAPTER I", "II", "VOLUME II\nCHAPTER I Again."),
    ]
    fix = dc.drop_cap_fixer(["Jehová dijo. Jehová habló. y fueron"])
    assert fix("Y JEHOVÁ dijo") == "Y Jehová dijo"
    assert fix("Y FUERON acabados") == "Y fueron acabados"
    assert fix("EN el principio") == "En el principio"
    assert fix("Y el día") == "Y el día"
    assert fix("Salmo de David. JEHOVÁ es mi pastor") == "Salmo de David. Jehová es mi pastor"
    assert fix("¡OH Jehová") == "¡Oh Jehová"
    assert dc.guess_lang("the cat is on the mat") == "en"
    assert dc.guess_lang("el gato está en la alfombra") == "es"
    assert dc.guess_lang("apt-get") is None


# ---------------------------------------------------------------------------
# the real packages, when they are here
# ---------------------------------------------------------------------------

PACKAGES = Path(os.environ.get("FORJA_PACKAGES", Path(__file__).resolve().parent.parent / "data" / "cache" / "packages"))
REAL_NAMES = ("sword-text-sparv", "sword-text-kjv", "r-cran-janeaustenr")


@pytest.fixture(scope="module")
def real_packages():
    """The real Debian packages, fetched into the pipeline's own cache (reused by
    `make run`) where apt-get exists; skipped on machines without apt."""
    if not all((PACKAGES / p / dc.INFO_FILE).exists() for p in REAL_NAMES):
        if shutil.which("apt-get") is None:
            pytest.skip("no apt-get on this machine: the default corpus comes from Debian packages")
        dc.fetch_packages(list(REAL_NAMES), PACKAGES)
    return PACKAGES


@pytest.mark.slow
def test_real_packages(real_packages):
    rv = dc.SOURCES["rv1909"]
    verses = [v for v in readers.sword_ztext(PACKAGES / rv.package / rv.files, "KJV") if v.verse]
    assert 31_000 <= len(verses) <= 31_102
    assert len({(v.book, v.chapter) for v in verses}) == 1189
    austen = dc.SOURCES["austen"]
    prefix = PACKAGES / austen.package / austen.files
    novels = readers.r_rdata(prefix.with_suffix(".rdb"), prefix.with_suffix(".rdx"))
    assert set(dc.AUSTEN_TITLES) <= set(novels)
    assert novels["prideprejudice"][9].startswith("It is a truth universally acknowledged")
    pairs = dc.aligned_verses(PACKAGES)
    ref, spanish, english = next(pairs)
    assert ref == "Gen.1.1" and spanish.startswith("En el principio") and english.startswith("In the beginning")
    by_ref = {ref: (es, en) for ref, es, en in pairs}
    assert "Jonah.2.1" not in by_ref  # the RV1909 numbers Jonah 1:17 as 2:1: a shifted chapter
    assert by_ref["John.3.16"][1].startswith("For God so loved the world")
    assert len(by_ref) > 30_000
