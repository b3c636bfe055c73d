"""The clean step: each filter on crafted documents, global dedup across
shards, the accounting identity, determinism and a broken shard."""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llm_core.config import ConfigError, from_dict
from llm_core.data.clean import (
    CleanConfig,
    ShardStats,
    apply_drops,
    check_identity,
    clean_document,
    clean_shard,
    find_duplicates,
    merge_stats,
    normalize_text,
    quality_issue,
    scrub_pii,
    sidecar_path,
    strip_boilerplate,
)
from llm_core.data.dedup import signature, similarity
from llm_core.data.documents import Document, ShardWriter, read_shard

ES = ("El pequeño pueblo estaba a orillas del río, y cada mañana los pescadores salían antes de que "
      "saliera el sol para volver por la noche con las redes llenas. Los niños corrían por la plaza "
      "mientras sus madres preparaban el pan, y los viejos, sentados a la sombra de la iglesia, "
      "recordaban los inviernos duros de su juventud y las fiestas de la cosecha.")
ES2 = ("Aquella tarde llovió sin parar sobre la ciudad. Las calles se vaciaron en pocos minutos y solo "
       "quedaron abiertas la farmacia y una librería vieja, donde un hombre de abrigo gris leía en voz "
       "baja un libro de viajes que nadie había comprado en años.")
EN = ("The little village stood on the bank of the river, and every morning the fishermen left before "
      "sunrise to come back in the evening with their nets full. Children ran across the square while "
      "their mothers baked bread, and the old men, sitting in the shade of the church, remembered the "
      "hard winters of their youth and the harvest feasts.")
FR = ("Le petit village se trouvait au bord de la rivière, et chaque matin les pêcheurs partaient avant "
      "le lever du soleil pour revenir le soir avec leurs filets pleins de poissons.")
PT = ("A pequena aldeia ficava à beira do rio, e todas as manhãs os pescadores saíam antes do nascer do "
      "sol para voltar à noite com as redes cheias de peixes.")

GPL = """Copyright (C) 2003 Jane Doe <jane@example.org>

This program is free software; you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation; either version 2 of the License, or
(at your option) any later version.

This program is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.

"""

# Every rule applies whatever the length, to check a normal paragraph against all of them.
ALL_RULES = CleanConfig(word_rules_min_words=0, line_rules_min_lines=0, ngram_rules_min_words=0)


def doc(text: str, id: str = "d", lang: str | None = None, source: str = "test") -> Document:
    return Document(id, source, text, {"lang": lang} if lang else {})


def english(n_words: int, seed: int) -> str:
    """Deterministic English-looking prose with no repeated phrases."""
    vocab = ("the a river house old man woman child walked saw found under over near quiet green morning "
             "evening letter road garden window table bread water stone small long bright cold warm "
             "friend city field sister brother and with from into slowly quickly every").split()
    rng = random.Random(seed)
    words = [rng.choice(vocab) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def write_shard(path: Path, docs: list[Document]) -> Path:
    with ShardWriter(path.parent, prefix=path.stem, max_docs=10_000) as w:
        w.write_all(docs)
    produced = path.parent / f"{path.stem}-00000.parquet"
    produced.rename(path)
    return path


def run_all(shards: list[Path], out: Path, cfg: CleanConfig):
    """The three passes; returns (merged stats, dedup result, final shard paths)."""
    first = {p.name: clean_shard(p, out / "pass1" / p.name, cfg) for p in shards}
    result = find_duplicates([sidecar_path(out / "pass1" / n) for n in first], cfg)
    final = [apply_drops(out / "pass1" / n, out / "final" / n, result, base=s) for n, s in first.items()]
    return merge_stats(final), result, [out / "final" / n for n in first]


# ---------------------------------------------------------------------------
# normalize
# ---------------------------------------------------------------------------


def test_normalize_nfc_controls_line_ends_and_blank_lines():
    text, steps = normalize_text("Cafe\u0301 del\x00 mar\x07\r\nsegunda   \r\n\n\n\n\n\ttercera\ufeff\n\n")
    assert text == "Café del mar\nsegunda\n\n\n\ttercera"
    assert {"NFC", "control chars", "line ends", "trailing spaces", "blank lines"} <= set(steps)
    assert normalize_text("e\u0301")[0] == "é"
    assert normalize_text(ES) == (ES, [])


def test_normalize_is_counted_as_a_change():
    stats = ShardStats()
    out = clean_document(doc(ES.replace("í", "i\u0301"), lang="es"), CleanConfig(), stats)
    assert out is not None and out.text == ES
    f = stats.filters["normalize"]
    assert f.docs_changed == 1 and f.docs_dropped == 0 and f.chars_removed == ES.count("í") > 0
    assert f.examples[0]["id"] == "d" and "NFC" in f.examples[0]["why"]


# ---------------------------------------------------------------------------
# boilerplate
# ---------------------------------------------------------------------------


def test_boilerplate_removes_licence_header_and_footer():
    text, removed = strip_boilerplate(GPL + ES + "\n\nAll rights reserved.")
    assert text == ES
    assert removed["licence lines"] == 9


def test_boilerplate_removes_copyright_line_glued_to_text_and_page_numbers():
    text, removed = strip_boilerplate("Copyright (c) 1999-2004 ACME Corp.\n" + ES + "\n- 12 -\n" + EN + "\nPage 13")
    assert text == ES + "\n" + EN
    assert removed == {"licence lines": 1, "page numbers": 2}


def test_boilerplate_strips_verse_numbers():
    verses = "1 En el principio creó Dios los cielos y la tierra.\n2 Y la tierra estaba desordenada y vacía.\n" \
             "3 Y dijo Dios: Sea la luz: y fué la luz.\n4 Y vió Dios que la luz era buena."
    text, removed = strip_boilerplate(verses)
    assert text.startswith("En el principio creó Dios") and "\nY dijo Dios: Sea la luz" in text
    assert removed == {"verse numbers": 4}
    chapter_verse = "1:1 In the beginning God created the heavens.\n1:2 The earth was formless.\n1:3 God said."
    assert strip_boilerplate(chapter_verse)[0].split("\n")[2] == "God said."


@pytest.mark.parametrize("prose", [
    # numbers in prose, at line starts too, that are not verses
    "En 1492 Colón llegó a América con 3 carabelas.\n12 de octubre es la fecha que se recuerda.\n"
    "Tres meses después volvió a España con 10 indígenas.",
    "2 eggs\n1 cup of sugar\n3 apples\n250 grams of flour",
    "1 egg\n1 lemon\n1 spoon of honey",
    '10 PRINT "HOLA"\n20 GOTO 10\n30 END',
    "Chapter 1\nCopyright law protects the expression of ideas, not the ideas themselves.\n" + EN,
    ES + "\n\n" + EN,
])
def test_boilerplate_leaves_normal_text_alone(prose):
    assert strip_boilerplate(prose) == (prose, {})


def test_boilerplate_keeps_a_long_text_about_licences():
    essay = ("The GNU General Public License says that this program is free software, and many pages "
             "explain what WITHOUT ANY WARRANTY means for users. ") * 30
    assert strip_boilerplate(essay)[0] == essay


# ---------------------------------------------------------------------------
# scrub_pii
# ---------------------------------------------------------------------------


def test_scrub_pii_replaces_emails_and_phones_not_dates():
    text = "Escribe a ana.perez+news@correo.example.es o llama al +34 612 345 678 o al (91) 555-12-34. " \
           "Nació en 1899-1974, el 12-10-1492; IP 192.168.100.200; versión 2.6.32."
    out, found = scrub_pii(text)
    assert "<email>" in out and "ana.perez" not in out
    assert out.count("<phone>") == 2
    assert "1899-1974" in out and "12-10-1492" in out and "192.168.100.200" in out and "2.6.32" in out
    assert found == {"emails": 1, "phones": 2}


def test_scrub_pii_is_off_by_default_and_on_by_config():
    d = doc(ES + " Contacto: ana@correo.example.es", lang="es")
    assert "ana@correo" in clean_document(d, CleanConfig()).text
    assert "<email>" in clean_document(d, CleanConfig(scrub_emails=True)).text


def test_scrub_pii_counts_what_it_replaced_summed_over_shards(tmp_path):
    pii = [doc(ES + " Escribe a ana@correo.example.es o a luis@correo.example.es.", "a", "es"),
           doc(ES2 + " Llama al +34 612 345 678.", "b", "es"), doc(EN, "c", "en")]
    shards = [write_shard(tmp_path / "in" / f"p{i}.parquet", [d]) for i, d in enumerate(pii)]
    cfg = CleanConfig(scrub_emails=True, scrub_phones=True)
    merged, _, _ = run_all(shards, tmp_path / "out", cfg)
    scrub = merged["filters"]["scrub_pii"]
    assert scrub["replaced"] == {"emails": 2, "phones": 1} and scrub["docs_changed"] == 2
    check_identity(merged)
    # off (the default): counted as zero, so a summary tells "none replaced" from an older run
    off, _, _ = run_all(shards, tmp_path / "off", CleanConfig())
    assert off["filters"]["scrub_pii"]["replaced"] == {"emails": 0, "phones": 0}
    assert "replaced" not in off["filters"]["dedup"]
    # a summary from before the count existed still merges
    old = merged | {"filters": {k: {x: y for x, y in f.items() if x != "replaced"} for k, f in merged["filters"].items()}}
    assert merge_stats([old, merged])["filters"]["scrub_pii"]["replaced"] == {"emails": 2, "phones": 1}


def test_clean_metrics_report_the_scrub_counts():
    from flows.clean import clean_metrics

    summary = merge_stats([])
    summary["filters"]["scrub_pii"]["replaced"] = {"emails": 3, "phones": 4}
    m = clean_metrics(summary)
    assert m["scrubbed_emails"] == 3 and m["scrubbed_phones"] == 4 and m["dropped_scrub_pii"] == 0
    old = merge_stats([])
    old["filters"]["scrub_pii"].pop("replaced")
    assert clean_metrics(old)["scrubbed_emails"] == 0


# ---------------------------------------------------------------------------
# length
# ---------------------------------------------------------------------------


def test_length_drops_too_short_and_too_long_but_keeps_a_short_proverb():
    stats = ShardStats()
    assert clean_document(doc("Hola.", lang="es"), CleanConfig(), stats) is None
    assert clean_document(doc(ES, lang="es"), CleanConfig(max_chars=100), stats) is None
    assert stats.filters["length"].reasons == {"length:too_short": 1, "length:too_long": 1}
    assert clean_document(doc("Tal para cual.", lang="es"), CleanConfig()) is not None


# ---------------------------------------------------------------------------
# quality
# ---------------------------------------------------------------------------


def _filler(i: int) -> str:
    return f"w{i:05d}x"  # a distinct 7-letter word


def _ngram_doc(gram: list[str], fillers: int, repeats: int, width: int = 7) -> str:
    words, k = [], 0
    for _ in range(repeats):
        for _ in range(fillers):
            words.append(_filler(k).ljust(width, "x"))
            k += 1
        words += gram
    return " ".join(words)


QUALITY_CASES = {
    "too_few_words": "Hola.",
    "mean_word_length": " ".join(["supercalifragilisticoespialidoso"] * 40),
    "symbol_ratio": " ".join(f"#etiqueta{i} texto" for i in range(30)),
    "alpha_words": " ".join(str(1000 + i) for i in range(40)) + " fin de la lista",
    "bullet_lines": "\n".join(f"• el {n} elemento de la lista" for n in ("primer", "segundo", "tercer", "cuarto", "quinto")),
    "ellipsis_lines": "\n".join(f"Y entonces, cuando ya nadie lo esperaba, pasó la cosa número {n}..."
                                 for n in ("uno", "dos", "tres", "cuatro", "cinco")),
    "dup_lines": "\n".join(["¡Compre ahora, oferta limitada!"] * 4 + ["Primera línea distinta", "Otra más"]),
    "dup_paragraphs": "\n\n".join([ES.replace(". ", ".\n"), EN.replace(". ", ".\n"), english(40, 1)] + ["Fin."] * 3),
    "top_2gram": _ngram_doc(["aaa", "bbb"], fillers=3, repeats=40, width=6),
    "top_3gram": _ngram_doc(["aaa", "bbb", "ccc"], fillers=4, repeats=20),
    "top_4gram": _ngram_doc(["aaa", "bbb", "ccc", "ddd"], fillers=6, repeats=15, width=8),
}


@pytest.mark.parametrize("rule", sorted(QUALITY_CASES))
def test_each_quality_rule_triggers_on_a_crafted_document(rule):
    issue = quality_issue(QUALITY_CASES[rule], ALL_RULES)
    assert issue is not None and issue[0] == rule, issue
    # ... and the default config names it the same way in the drop reason
    if rule not in ("bullet_lines", "ellipsis_lines", "dup_lines"):  # those are too short for the default gates
        stats = ShardStats()
        assert clean_document(doc(QUALITY_CASES[rule], lang="es"), CleanConfig(min_chars=1), stats) is None
        assert stats.filters["quality"].reasons == {f"quality:{rule}": 1}


@pytest.mark.parametrize("text", [ES, EN, ES.replace(". ", ".\n"), EN.replace(", ", ",\n")])
def test_normal_paragraphs_pass_every_quality_rule(text):
    assert quality_issue(text, ALL_RULES) is None


def test_short_texts_are_spared_the_ratio_rules():
    # A one-line quote with an ellipsis: 1 per 4 words breaks Gopher's symbol ratio, not ours.
    assert quality_issue("Sonría... mañana será peor.", CleanConfig()) is None
    # Spanish dialogue starts every line with a dash; that is not a bullet list.
    dialogue = "- ¿Cómo es tu nombre?\n- María de la O\n- ¿Eh?\n- ¡O!\n- ¡Ah!"
    assert quality_issue(dialogue, CleanConfig()) is None


def test_quality_drop_reason_is_the_rule_name():
    stats = ShardStats()
    text = "\n".join(f"• elemento número {i} de la lista de la compra" for i in range(8))
    assert clean_document(doc(text, lang="es"), CleanConfig(), stats) is None
    assert stats.filters["quality"].reasons == {"quality:bullet_lines": 1}
    assert stats.filters["quality"].examples[0]["why"].startswith("quality:bullet_lines")


# ---------------------------------------------------------------------------
# language
# ---------------------------------------------------------------------------


def test_language_keeps_es_en_and_labels_them():
    for text, lang in ((ES, "es"), (EN, "en")):
        out = clean_document(doc(text), CleanConfig())
        assert out is not None and out.meta["lang"] == lang and out.meta["lang_score"] > 0.9
        assert out.meta["lang_by"] == "langid"


@pytest.mark.parametrize("text,lang", [(FR, "fr"), (PT, "pt")])
def test_language_drops_french_and_portuguese_even_with_a_spanish_hint(text, lang):
    for hint in (None, "es"):
        stats = ShardStats()
        assert clean_document(doc(text, lang=hint), CleanConfig(), stats) is None
        assert stats.filters["language"].reasons == {f"language:{lang}": 1}


def test_language_short_text_trusts_a_kept_hint():
    out = clean_document(doc("Tal para cual.", lang="es"), CleanConfig())
    assert out.meta["lang"] == "es" and out.meta["lang_by"] == "hint" and out.meta["lang_score"] is None
    # a hint that is not a kept language is not trusted: the classifier decides
    out = clean_document(doc("It is a truth universally acknowledged.", lang="de"), CleanConfig())
    assert out.meta["lang"] == "en" and out.meta["lang_hint"] == "de"


def test_language_empty_list_keeps_everything():
    out = clean_document(doc(FR), CleanConfig(languages=()))
    assert out is not None and out.meta["lang"] == "fr"


# ---------------------------------------------------------------------------
# dedup, across shards
# ---------------------------------------------------------------------------


def test_signature_similarity_reflects_shared_shingles():
    a = english(150, seed=1)
    words = a.split()
    words[40], words[100] = "zebra", "umbrella"
    assert similarity(signature(a), signature(" ".join(words))) >= 0.8
    assert similarity(signature(a), signature(english(150, seed=2))) < 0.3


def test_exact_and_near_duplicates_are_found_across_shards(tmp_path):
    a, b, c = english(150, 1), english(150, 2), english(150, 3)
    near = a.split()
    near[30], near[90] = "zebra", "umbrella"
    s1 = write_shard(tmp_path / "in" / "a.parquet", [doc(a, "a"), doc(b, "b")])
    s2 = write_shard(tmp_path / "in" / "b.parquet", [
        doc("  " + b.upper().replace(" ", " \t ") + "\n", "b-copy"),  # same text modulo case and whitespace
        doc(" ".join(near), "a-near"),
        doc(c, "c"),
    ])
    merged, result, finals = run_all([s1, s2], tmp_path / "out", CleanConfig())
    assert result.drops["b-copy"].reason == "dedup:exact" and result.drops["b-copy"].dup_of == "b"
    assert result.drops["a-near"].reason == "dedup:near" and result.drops["a-near"].dup_of == "a"
    assert set(result.drops) == {"b-copy", "a-near"}
    assert [d.id for p in finals for d in read_shard(p)] == ["a", "b", "c"]
    assert merged["filters"]["dedup"]["reasons"] == {"dedup:exact": 1, "dedup:near": 1}
    check_identity(merged)


def test_apply_drops_accepts_plain_ids(tmp_path):
    s = write_shard(tmp_path / "x.parquet", [doc(english(50, i), f"d{i}", lang="en") for i in range(4)])
    stats = apply_drops(s, tmp_path / "out" / "x.parquet", {"d1", "d3"})
    assert [d.id for d in read_shard(tmp_path / "out" / "x.parquet")] == ["d0", "d2"]
    assert stats.documents_in == 4 and stats.documents_out == 2
    check_identity(stats)


# ---------------------------------------------------------------------------
# the whole step on a small mixed corpus
# ---------------------------------------------------------------------------


def mixed_corpus() -> list[list[Document]]:
    """~50 documents over 3 shards: good es/en prose, short proverbs, and
    documents each filter should drop or change, with duplicates across shards."""
    good = [doc(english(60 + i, seed=100 + i), f"en{i}", lang="en", source="en") for i in range(28)]
    proverbs = [doc(t, f"p{i}", lang="es", source="proverbs") for i, t in enumerate(
        ["Tal para cual.", "A lo hecho, pecho.", "Más vale tarde que nunca.", "El tiempo es oro.",
         "Quien busca, halla.", "No hay mal que por bien no venga.", "A buen hambre no hay pan duro.",
         "Dime con quién andas y te diré quién eres.", "Ojos que no ven, corazón que no siente.",
         "Poco a poco se va lejos."])]
    bad = [
        doc("Hola.", "short", lang="es", source="bad"),
        doc(QUALITY_CASES["mean_word_length"], "long-words", lang="es", source="bad"),
        doc(QUALITY_CASES["top_4gram"], "spam", lang="en", source="bad"),
        doc(FR, "fr", source="bad"),
        doc(PT, "pt", lang="es", source="bad"),
        doc(GPL, "only-licence", source="bad"),
    ]
    changed = [
        doc(GPL + ES, "gpl-es", lang="es", source="es"),
        doc(ES2.replace("í", "i\u0301") + "\r\n", "nfd-es", lang="es", source="es"),
        doc(EN + "\n- 2 -\n" + EN.upper(), "paged-en", lang="en", source="en"),
    ]
    dups = [
        doc(good[0].text, "dup-exact", lang="en", source="en"),
        doc(good[1].text.replace("the", "a", 2), "dup-near", lang="en", source="en"),
        doc("Tal para cual.", "p-dup", lang="es", source="proverbs"),
    ]
    return [good[:14] + proverbs[:5] + bad[:3], good[14:] + changed + bad[3:], proverbs[5:] + dups]


def write_corpus(folder: Path) -> list[Path]:
    return [write_shard(folder / f"part-{i}.parquet", docs) for i, docs in enumerate(mixed_corpus())]


def test_identity_holds_on_a_mixed_corpus(tmp_path):
    shards = write_corpus(tmp_path / "in")
    merged, result, finals = run_all(shards, tmp_path / "out", CleanConfig())
    assert merged["documents_in"] == sum(len(d) for d in mixed_corpus()) == 50
    check_identity(merged)
    f = merged["filters"]
    assert f["length"]["docs_dropped"] == 1
    assert f["quality"]["reasons"] == {"quality:mean_word_length": 1, "quality:top_4gram": 1}
    assert f["language"]["reasons"] == {"language:fr": 1, "language:pt": 1}
    assert f["boilerplate"]["reasons"] == {"boilerplate:empty": 1} and f["boilerplate"]["docs_changed"] == 2
    assert f["normalize"]["docs_changed"] >= 1
    assert f["dedup"]["reasons"] == {"dedup:exact": 2, "dedup:near": 1}
    kept = [d for p in finals for d in read_shard(p)]
    assert len(kept) == merged["documents_out"] == 50 - 9
    assert merged["languages"]["es"]["documents"] + merged["languages"]["en"]["documents"] == len(kept)
    assert merged["sources"]["proverbs"] == {"documents_in": 11, "documents_out": 10,
                                             "chars_in": merged["sources"]["proverbs"]["chars_in"],
                                             "chars_out": merged["sources"]["proverbs"]["chars_out"]}
    by_id = {d.id: d for d in kept}
    assert by_id["gpl-es"].text == ES and by_id["nfd-es"].text == ES2
    assert "- 2 -" not in by_id["paged-en"].text
    # the identity check notices a miscount
    merged["documents_out"] += 1
    with pytest.raises(ValueError, match="documents_in"):
        check_identity(merged)


def test_stats_are_json_and_merge_in_any_grouping(tmp_path):
    import json

    shards = write_corpus(tmp_path / "in")
    cfg = CleanConfig()
    per_shard = [clean_shard(p, tmp_path / "c" / p.name, cfg) for p in shards]
    once = merge_stats(per_shard)
    twice = merge_stats([merge_stats(per_shard[:2]), per_shard[2].to_dict()])
    for m in (once, twice):
        m.pop("seconds")
    assert once == twice
    assert json.loads(json.dumps(once)) == once
    check_identity(once)


def test_outputs_are_deterministic(tmp_path):
    shards = write_corpus(tmp_path / "in")
    for run in ("r1", "r2"):
        run_all(shards, tmp_path / run, CleanConfig())
    files = sorted(p.relative_to(tmp_path / "r1") for p in (tmp_path / "r1").rglob("*") if p.is_file())
    assert any(str(f).endswith(".dedup.pq") for f in files) and len(files) == 9
    for f in files:
        assert (tmp_path / "r1" / f).read_bytes() == (tmp_path / "r2" / f).read_bytes(), f


def test_a_shard_without_a_text_column_names_the_file(tmp_path):
    bad = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"id": ["a"], "source": ["s"], "meta": ["{}"]}), bad)
    with pytest.raises(ValueError, match=r"broken\.parquet.*text"):
        clean_shard(bad, tmp_path / "out" / "broken.parquet", CleanConfig())
    assert not list((tmp_path / "out").glob("*"))  # nothing half-written left behind


def test_config_from_dict():
    cfg = from_dict(CleanConfig, {"languages": ["es"], "min_chars": 5, "near_dedup": False}, where="clean")
    assert cfg.languages == ("es",) and cfg.min_chars == 5
    with pytest.raises(ConfigError, match="min_char"):
        from_dict(CleanConfig, {"min_char": 5}, where="clean")
    with pytest.raises(ConfigError, match="near_threshold"):
        CleanConfig(near_threshold=1.5)
