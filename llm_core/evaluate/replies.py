"""Does the chat model answer like someone in a conversation? Scored on held-out small-talk
prompts (llm_core.data.smalltalk: greetings, small talk and FAQ phrasings never trained on).

For each prompt the chat model replies greedily through the chat template, and the reply gets:

    language  1 if it is in the asker's language (the clean stage's identifier, es vs en), else 0
    sentence  1 if it has at least MIN_WORDS words and at least SENTENCE_KNOWN of them occur in
              the training corpus (a real sentence, not babble), else 0
    chrf      the best chrF (0-1) against the replies a good answer would be
    known     the share of its words that occur in the training corpus or chat data

and the scores are shares (means) over prompts, overall and per language; known_words is
the share over all reply words together (a long babbling reply weighs more than a short one).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tqdm.auto import tqdm

from ..data import langid
from .accuracy import chat_reply
from ..tasks.scoring import chrf
from .samples import words

MIN_WORDS = 3
SENTENCE_KNOWN = 0.8
LANGS = ("es", "en")


def reply(model, tokenizer, prompt: str, max_new_tokens: int = 48) -> str:
    return chat_reply(model, tokenizer, [{"role": "user", "content": prompt}], max_new_tokens).strip()


def score(text: str, lang: str, references: Sequence[str], vocabulary: set[str]) -> dict[str, float]:
    ws = [w.lower() for w in words(text)]
    known = sum(w in vocabulary for w in ws) / len(ws) if ws else 0.0
    said = langid.identify(text, candidates=LANGS)[0] if ws else None
    return {"language": float(said == lang), "sentence": float(len(ws) >= MIN_WORDS and known >= SENTENCE_KNOWN),
            "chrf": max((chrf(text, r) for r in references), default=0.0), "known": known, "words": len(ws)}


def reply_scores(model, tokenizer, heldout: Iterable[Mapping], vocabulary: set[str], max_new_tokens: int = 48,
                 *, progress: bool = True) -> tuple[dict[str, float], list[dict]]:
    """({"reply_language": share, "reply_sentence": share, "reply_chrf": mean, "reply_known_words":
    share of words, and each per language as "reply_language_es" ...; "reply_prompts": n}, one row per prompt)."""
    rows = []
    items = list(heldout)
    for h in tqdm(items, desc="chat replies", unit="prompt", disable=not progress, dynamic_ncols=True):
        text = reply(model, tokenizer, h["prompt"], max_new_tokens)
        rows.append({"topic": h["topic"], "lang": h["lang"], "prompt": h["prompt"], "reply": text,
                     **score(text, h["lang"], h["references"], vocabulary)})
    out: dict[str, float] = {"reply_prompts": len(rows)}
    for suffix, subset in [("", rows)] + [(f"_{lang}", [r for r in rows if r["lang"] == lang]) for lang in LANGS]:
        for key in ("language", "sentence", "chrf"):
            out[f"reply_{key}{suffix}"] = round(sum(r[key] for r in subset) / len(subset), 4) if subset else 0.0
        n_words = sum(r["words"] for r in subset)
        out[f"reply_known_words{suffix}"] = round(sum(r["known"] * r["words"] for r in subset) / n_words, 4) if n_words else 0.0
    return out, rows
