"""Generations: answers to fixed prompts, and whether a model writes words.

`prompted_samples` asks the base model (plain continuation) and the chat model
(chat template) the same fixed prompts at each temperature. `recognisable_words`
samples the base model and measures the share of the words it writes (runs of
letters, lower-cased) that occur in the training corpus: a crude but honest test
that a small model writes words, not noise.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from tqdm.auto import tqdm

from ..chat import decode_reply, encode_chat
from ..config import SampleConfig
from ..data.documents import Document
from ..sample import generate

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def known_word_share(texts: Iterable[str], vocabulary: set[str]) -> tuple[float, int]:
    """Share of words (by count) found in `vocabulary`, and how many words were seen."""
    ws = [w for t in texts for w in words(t)]
    return (sum(w in vocabulary for w in ws) / len(ws) if ws else 0.0), len(ws)


def corpus_vocabulary(docs: Iterable[Document], *, progress: bool = True) -> set[str]:
    """Every word of the documents (see `words`)."""
    bar = tqdm(docs, desc="vocabulary", unit="doc", disable=not progress, dynamic_ncols=True)
    return {w for d in bar for w in words(d.text)}


def text_vocabulary(texts: Iterable[str]) -> set[str]:
    """Every word of the texts (see `words`)."""
    return {w for t in texts for w in words(t)}


def prompted_samples(base, chat, tokenizer, prompts: Mapping[str, Sequence[str]], temperatures: Sequence[float],
                     sample_config: Callable[[float], SampleConfig], *, progress: bool = True) -> list[dict]:
    """One row per (language, prompt, temperature): {"lang", "prompt", "temperature",
    "base": its continuation, "chat": its reply}; `sample_config(t)` sets the sampling."""
    rows = []
    total = sum(len(ps) for ps in prompts.values()) * len(temperatures)
    with tqdm(total=total, desc="prompted samples", unit="prompt", disable=not progress, dynamic_ncols=True) as bar:
        for lang, lang_prompts in prompts.items():
            for prompt in lang_prompts:
                for t in temperatures:
                    cfg = sample_config(t)
                    base_ids = tokenizer.encode(prompt, bos=True)
                    chat_ids = encode_chat(tokenizer, [{"role": "user", "content": prompt}],
                                           add_generation_prompt=True).ids
                    b = generate(base, base_ids, cfg, stop_ids=[tokenizer.bos_id, tokenizer.eos_id])
                    c = generate(chat, chat_ids, cfg, stop_ids=[tokenizer.end_of_turn_id, tokenizer.eos_id])
                    rows.append({"lang": lang, "prompt": prompt, "temperature": t,
                                 "base": tokenizer.decode(b.ids), "chat": decode_reply(tokenizer, c.ids)})
                    bar.update(1)
    return rows


def recognisable_words(model, tokenizer, prompts: Mapping[str, Sequence[str]], n_samples: int,
                       sample_config: Callable[[int], SampleConfig], vocabulary: set[str], *,
                       progress: bool = True) -> tuple[dict, dict]:
    """`n_samples` continuations per language (the i-th of prompt i mod len(prompts),
    sampled with `sample_config(i)`) and the share of their words in `vocabulary`:
    ({"known_words_<lang>": share, "generated_words_<lang>": count, ...}, {lang: texts})."""
    out, texts = {}, {}
    with tqdm(total=n_samples * len(prompts), desc="recognisable words", unit="sample", disable=not progress,
              dynamic_ncols=True) as bar:
        for lang, lang_prompts in prompts.items():
            gen = []
            for i in range(n_samples):
                prompt = lang_prompts[i % len(lang_prompts)]
                ids = generate(model, tokenizer.encode(prompt, bos=True), sample_config(i),
                               stop_ids=[tokenizer.bos_id, tokenizer.eos_id]).ids
                gen.append(tokenizer.decode(ids))
                bar.update(1)
            share, count = known_word_share(gen, vocabulary)
            out[f"known_words_{lang}"], out[f"generated_words_{lang}"] = round(share, 4), count
            texts[lang] = gen
    return out, texts
