"""The built-in task suite: short bilingual (es/en) tasks with checkable answers.

A model of a few million parameters learns short, formulaic tasks, so every task
here has a one-line prompt and an answer of a few tokens:

| task            | prompt (en / es)                                        | answer            |
| --------------- | ------------------------------------------------------- | ----------------- |
| lang_id         | Which language is this sentence in? <s>                 | English / Spanish |
|                 | ¿En qué idioma está esta frase? <s>                     | inglés / español  |
| next_words      | Next 2 words: <start of a corpus sentence>              | its next 1-3 words|
| count_words     | Count the words: <s> / Cuenta las palabras: <s>         | a number          |
| arithmetic      | What is 7 plus 5? / ¿Cuánto es 7 más 5?                 | 12                |
| repeat          | Repeat: a b c / Repite: a b c                           | a b c             |
| reverse_words   | Reverse the word order: a b c / Invierte el orden ...   | c b a             |
| which_is_longer | Which word is longer: "casa" or "ventana"?              | "ventana"         |
| translate       | Translate to Spanish: <verse> / Traduce al inglés: ...  | the other verse   |

One module per concern; import from the one you need:

- `items`: TaskItem, TaskSuite, the task and language names, the JSONL file
  (save_items / load_items), count_items, as_messages.
- `makers`: the prompts and the per-task item makers (one source unit -> one item).
- `suite`: build_suite, which streams documents and verses into a train and a
  held-out split and selects the items.
- `dialogues`: multi-turn conversations of two or three items and follow-ups on
  the last answer (build_dialogues, follow_up, save_dialogues / load_dialogues).
- `keys`: the hashes and the seeded generator every choice is made with.
- `scoring`: normalize, chrF, score, extract_answer.
- `prompts`: few-shot prompts for a base model (few_shot_prompt, select_shots).

Sentence splitting and the clean-sentence filter are text tools, in
`llm_core.data.sentences`.

This file imports nothing on purpose: a DVC stage depends on the files it
imports, and re-exports here would make fine-tuning depend on scoring and
evaluation on the item makers.
"""
