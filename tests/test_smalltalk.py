"""llm_core.data.smalltalk: forja's own bilingual small talk and FAQ, and its held-out split."""
from llm_core.data import langid, smalltalk
from llm_core.data.smalltalk import LANGS, TOPICS


def test_every_topic_speaks_both_languages_with_variants():
    for topic, by_lang in TOPICS.items():
        assert set(by_lang) == set(LANGS), topic
        for lang, (users, replies) in by_lang.items():
            assert len(users) >= 3 and len(replies) >= 2, (topic, lang)
            assert len(set(users)) == len(users) and len(set(replies)) == len(replies), (topic, lang)


def test_each_reply_is_in_its_language():
    """By the same language identifier the clean stage uses (replies of a few words or more)."""
    wrong = []
    for topic, by_lang in TOPICS.items():
        for lang, (_, replies) in by_lang.items():
            wrong += [(topic, lang, r) for r in replies if len(r.split()) >= 5
                      and langid.identify(r, candidates=LANGS)[0] != lang]
    assert not wrong, wrong


def test_held_out_prompts_never_train_and_the_common_ones_always_do():
    train, held = smalltalk.build(seed=0, heldout_share=0.2)
    said = {m["content"] for conv in train for m in conv if m["role"] == "user"}
    assert held and not {h.prompt for h in held} & said
    assert {h.lang for h in held} == set(LANGS)
    for topic, by_lang in TOPICS.items():
        for lang, (users, replies) in by_lang.items():
            assert users[0] in said, (topic, lang)  # "Hola", "Hello": what most people type
    for h in held:
        assert h.references == tuple(r.replace("{context}", "256") for r in TOPICS[h.topic][h.lang][1])
    assert smalltalk.build(seed=0, heldout_share=0.2) == (train, held)  # the same on every run
    assert not smalltalk.build(seed=0, heldout_share=0.0)[1]


def test_conversations_alternate_end_on_the_assistant_and_keep_one_language():
    train, _ = smalltalk.build(seed=3)
    lines = {lang: {t.replace("{context}", "256") for by_lang in TOPICS.values() for t in by_lang[lang][0] + by_lang[lang][1]}
             for lang in LANGS}
    assert any(len(c) >= 6 for c in train)  # three-topic chains
    for conv in train:
        assert [m["role"] for m in conv] == ["user", "assistant"] * (len(conv) // 2)
        assert any(all(m["content"] in lines[lang] for m in conv) for lang in LANGS), conv


def test_the_context_window_answer_states_the_models_own_window():
    train, held = smalltalk.build(seed=0, context=1024)
    said = " ".join(m["content"] for conv in train for m in conv if m["role"] == "assistant")
    assert "1,024 tokens" in said and "256" not in said and "{context}" not in said
    assert not any("{context}" in r for h in held for r in h.references)
    assert all("{" not in t or "{context}" in t for t in smalltalk.texts())
