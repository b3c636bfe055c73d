"""Evaluation: what the evaluate stage measures, one module per kind of figure.

- `lm`: language-model quality on a token file (loss, perplexity, bits per byte),
  beside what gzip, bz2 and xz reach on the same text.
- `accuracy`: held-out task accuracy, the base model prompted with k examples
  (few-shot) against the chat model asked directly (0-shot, chat template).
- `replies`: the chat model's replies to held-out small talk (language, sentence, real words, chrF).
- `dialogues`: task accuracy by turn in held-out multi-turn dialogues, and on follow-ups.
- `chat_loss`: loss and bits per byte on the replies of held-out conversations.
- `samples`: generations, answers to fixed prompts and the share of generated
  words that occur in the training corpus.

This file imports nothing, so that importing one of them does not load the others.
"""
