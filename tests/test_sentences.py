"""Sentence tools (llm_core.data.sentences): splitting a document into sentences,
the clean-sentence filter and bare words."""
from llm_core.data.sentences import bare_word, is_clean_sentence, split_sentences


def test_split_sentences_and_filter():
    text = ("CHAPTER 4\nMrs. Jennings came to the house. She was\nvery kind!\n"
            "-- Anónimo\n¿Dónde está el libro? Está en la mesa.\nSee /usr/bin for 3 files.")
    sents = list(split_sentences(text))
    assert sents == ["CHAPTER 4", "Mrs. Jennings came to the house.", "She was very kind!", "-- Anónimo",
                     "¿Dónde está el libro?", "Está en la mesa.", "See /usr/bin for 3 files."]
    clean = [s for s in sents if is_clean_sentence(s)]
    assert clean == ["Mrs. Jennings came to the house.", "She was very kind!", "¿Dónde está el libro?",
                     "Está en la mesa."]
    assert list(split_sentences("¿Quién es? dijo él. Yo no. Vino J. Smith. So do I. Then Mrs. Bennet came.")) == [
        "¿Quién es? dijo él.", "Yo no.", "Vino J. Smith.", "So do I.", "Then Mrs. Bennet came."]
    assert not is_clean_sentence("He said, “Come here.")  # unbalanced quotes
    assert not is_clean_sentence("THE LORD is good to all.")  # shouted


def test_bare_word():
    assert bare_word("tierra") and bare_word("don't") and bare_word("well-known") and bare_word("niño")
    assert not bare_word("tierra,") and not bare_word("“Hola") and not bare_word("3") and not bare_word("a_b")
