"""The conversations that ship in PyPI packages (llm_core.data.chat_corpus)."""
from collections import Counter

from llm_core.data import chat_corpus


def test_packaged_conversations_alternate_roles():
    counts = Counter()
    es = list(chat_corpus.chatterbot("es", counts))
    assert len(es) > 200 and counts["chatterbot-es"] == len(es)
    for conv in es[:50]:
        assert [m["role"] for m in conv] == ["user", "assistant"] * (len(conv) // 2)
    chit = list(chat_corpus.chitchat(limit=20, counts=counts))
    assert len(chit) == 20 and counts["chitchat: over the limit"] > 1000
    assert chat_corpus.to_messages(["only a question"]) is None
