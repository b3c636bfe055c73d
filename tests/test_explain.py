"""llm_core.explain on a tiny model, each figure checked against a direct computation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dashboard_project import VOCAB, tiny_tokenizer
from llm_core import explain
from llm_core.chat import encode_chat
from llm_core.config import ModelConfig
from llm_core.model import Transformer, apply_rope
from llm_core.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return Tokenizer.load(tiny_tokenizer(tmp_path_factory.mktemp("tok") / "t"))


def tiny(tie: bool = True, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(ModelConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, max_seq_len=64,
                                    tie_embeddings=tie))
    with torch.no_grad():  # a trained model's embeddings are not isotropic noise: give them structure
        model.model.embed_tokens.weight.add_(torch.randn(VOCAB, 1) * torch.linspace(-1, 1, 32))
    return model.eval()


def test_tokens_rebuild_the_text_and_flag_bytes_and_specials(tok):
    text = "Hola, ¿qué tal? 🙂"
    toks = explain.tokens(tok, text)
    assert [t.id for t in toks] == tok.encode(text)
    assert b"".join(tok.token_bytes(t.id) for t in toks).decode() == text
    assert any(t.is_byte for t in toks)  # the emoji is not in a 320-piece vocabulary: raw bytes
    assert not any(t.is_special for t in toks)
    chat, mask = explain.chat_tokens(tok, [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}])
    encoded = encode_chat(tok, [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}])
    assert [t.id for t in chat] == encoded.ids and mask == encoded.loss_mask
    assert [t.piece for t in chat if t.is_special] == ["<|begin_of_text|>", "<|user|>", "<|end_of_turn|>",
                                                       "<|assistant|>", "<|end_of_turn|>"]


@pytest.mark.parametrize("tie", [True, False])
def test_parameter_groups_add_up_to_the_model(tie):
    model = tiny(tie)
    groups = explain.parameter_groups(model)
    assert sum(groups.values()) == model.num_params()
    assert groups["embeddings"] == VOCAB * 32 and groups["head"] == (0 if tie else VOCAB * 32)
    assert groups["norms"] == 32 * (2 * 2 + 1)
    assert groups["attention"] == 2 * 4 * 32 * 32


def test_word_tokens_are_whole_words_or_letter_pieces_in_id_order(tok):
    whole = explain.word_tokens(tok, 20)
    assert all(tok.id_to_piece(i).startswith("\u2581") and tok.id_to_piece(i)[1:].isalpha() for i in whole)
    pieces = explain.word_tokens(tok, 40, whole=False)  # a 320-piece vocabulary holds few whole words
    assert len(pieces) == 40 and pieces == sorted(pieces)
    sp = tok.processor
    assert not any(sp.is_byte(i) or sp.is_control(i) for i in pieces)
    assert all(any(c.isalpha() for c in tok.id_to_piece(i)) for i in pieces)
    assert set(whole) <= set(explain.word_tokens(tok, VOCAB, whole=False))


def test_word_vector_is_the_mean_of_the_words_rows(tok):
    model = tiny()
    ids, vector = explain.word_vector(model, tok, " perro ")
    assert ids == tok.encode(" perro") and len(ids) > 1
    assert torch.allclose(vector, model.model.embed_tokens.weight[ids].mean(0))
    with pytest.raises(explain.ExplainError, match="type a word"):
        explain.word_vector(model, tok, "")


def test_pca_matches_the_covariance_eigenvectors():
    x = torch.randn(200, 16) @ torch.diag(torch.linspace(3, 0.1, 16))
    coords, share = explain.pca_2d(x)
    centred = (x - x.mean(0)).double().numpy()
    values, vectors = np.linalg.eigh(centred.T @ centred)
    top = vectors[:, ::-1][:, :2]
    assert np.allclose(np.abs(coords.double().numpy()), np.abs(centred @ top), atol=1e-4)
    assert np.allclose(share.numpy(), values[::-1][:2] / values.sum(), atol=1e-5)
    assert torch.equal(explain.pca_2d(x)[0], coords)  # the same map every time (signs fixed)


def test_nearest_neighbours_by_cosine(tok):
    model = tiny()
    candidates = explain.word_tokens(tok, VOCAB, whole=False)
    ids, near = explain.nearest(model, tok, "perro", k=5, candidates=candidates)
    assert len(near) == 5
    emb = model.model.embed_tokens.weight.detach()
    query = emb[ids].mean(0)
    pool = [i for i in candidates if i not in ids]
    direct = sorted(((i, float(query @ emb[i] / (query.norm() * emb[i].norm()))) for i in pool), key=lambda p: -p[1])
    assert [i for i, _ in near] == [i for i, _ in direct[:5]]
    assert all(math.isclose(a, b, abs_tol=1e-5) for (_, a), (_, b) in zip(near, direct))
    with pytest.raises(explain.ExplainError):
        explain.nearest(model, tok, "   ")


def test_next_token_is_the_models_softmax_after_temperature(tok):
    model = tiny()
    ids = tok.encode("Hola, ¿qué", bos=True)
    logits = model(torch.tensor([ids]))[0][0, -1].detach()
    for temp in (0.5, 1.0, 4.0):
        d = explain.next_token(model, ids, temperature=temp)
        assert torch.allclose(d.probs, torch.softmax(logits / temp, -1), atol=1e-6)
        assert torch.allclose(d.sampled, d.probs, atol=1e-6) and bool(d.kept.all())
    entropy = [float(-(p * p.clamp_min(1e-30).log()).sum()) for p in
               (explain.next_token(model, ids, t).probs for t in (0.3, 1.0, 3.0))]
    assert entropy[0] < entropy[1] < entropy[2]  # hotter is flatter
    cut = explain.next_token(model, ids, temperature=1.0, top_k=5)
    assert int(cut.kept.sum()) == 5 and math.isclose(float(cut.sampled.sum()), 1.0, rel_tol=1e-5)
    assert float(cut.sampled[~cut.kept].sum()) == 0.0
    assert [i for i, *_ in cut.top(5)] == torch.topk(logits, 5).indices.tolist()
    greedy = explain.next_token(model, ids, temperature=0.0)
    assert float(greedy.probs[int(logits.argmax())]) == 1.0 and float(greedy.probs.sum()) == 1.0


def test_attention_is_causal_sums_to_one_and_matches_a_direct_computation(tok):
    model = tiny()
    ids = tok.encode("El perro come pan.", bos=True)
    maps = explain.attention(model, ids)
    assert len(maps) == 2 and maps[0].shape == (4, len(ids), len(ids))
    for a in maps:
        assert torch.allclose(a.sum(-1), torch.ones(4, len(ids)), atol=1e-5)
        assert float(torch.triu(a, diagonal=1).abs().max()) == 0.0
    layer = model.model.layers[0]
    with torch.no_grad():
        h = layer.input_layernorm(model.model.embed_tokens(torch.tensor([ids])))
        att = layer.self_attn
        q = att.q_proj(h).view(1, len(ids), 4, 8).transpose(1, 2)
        k = att.k_proj(h).view(1, len(ids), 4, 8).transpose(1, 2)
        cos, sin = model.rope_cos[: len(ids)], model.rope_sin[: len(ids)]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        scores = q @ k.transpose(-2, -1) / math.sqrt(8)
        causal = torch.ones(len(ids), len(ids), dtype=torch.bool).tril()
        direct = scores.masked_fill(~causal, float("-inf")).softmax(-1)[0]
    assert torch.allclose(maps[0], direct, atol=1e-5)
    with pytest.raises(explain.ExplainError):
        explain.attention(model, list(range(65)))


def test_token_languages_count_each_language_and_name_a_words_language(tok):
    texts = [("es", "a", "El perro come pan. " * 50), ("en", "b", "The dog eats bread. " * 50),
             ("es", "a", "Esto ya no se lee: la fuente llegó a su límite. " * 50)]
    counts = explain.token_languages(tok, texts, chars_per_source=500)
    assert sum(len(t) for _, _, t in texts[:1]) > 500
    assert sum(counts["es"].values()) == len(tok.encode(texts[0][2][:500]))
    only_en = [i for i in tok.encode(" dog eats bread") if not counts["es"][i]]
    only_es = [i for i in tok.encode(" perro come pan") if not counts["en"][i]]
    assert only_en and only_es
    assert {explain.word_language(counts, i) for i in only_en} == {"en"}
    assert {explain.word_language(counts, i) for i in only_es} == {"es"}
    assert explain.word_language(counts, tok.encode(".")[0]) == "both"  # as common in both texts
    unseen = next(i for i in range(8, VOCAB) if not counts["es"][i] and not counts["en"][i])
    assert explain.word_language(counts, unseen) is None


def test_context_curve_is_the_next_token_probability_on_the_last_n_tokens(tok):
    model = tiny()
    ids = tok.encode("Hola, ¿qué tal? Muy bien, gracias. El perro come pan.", bos=True)
    curve = explain.context_curve(model, ids, 42, [1, 5, len(ids)])
    for n, p in curve:
        direct = model(torch.tensor([ids[-n:]]))[0][0, -1].softmax(-1)[42]
        assert math.isclose(p, float(direct), rel_tol=1e-5)
    with pytest.raises(explain.ExplainError, match="expected 1 to"):
        explain.context_curve(model, ids, 42, [len(ids) + 1])


def test_answer_and_reply_probabilities_are_products_of_token_probabilities(tok):
    model = tiny()
    prompt, answer = "Q: Repite: el perro\nA:", "el perro"
    full = tok.encode(prompt + " " + answer, bos=True)
    n = len(full) - len(tok.encode(prompt, bos=True))
    logp = model(torch.tensor([full[:-1]]))[0][0].log_softmax(-1)
    direct = math.exp(sum(float(logp[i - 1, full[i]]) for i in range(len(full) - n, len(full))))
    assert math.isclose(explain.answer_probability(model, tok, prompt, answer), direct, rel_tol=1e-4)

    conv = encode_chat(tok, [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}]).ids
    ask = encode_chat(tok, [{"role": "user", "content": "Hola"}], add_generation_prompt=True).ids
    logp = model(torch.tensor([conv[:-1]]))[0][0].log_softmax(-1)
    with_end = math.exp(sum(float(logp[i - 1, conv[i]]) for i in range(len(ask), len(conv))))
    without = math.exp(sum(float(logp[i - 1, conv[i]]) for i in range(len(ask), len(conv) - 1)))
    assert math.isclose(explain.reply_probability(model, tok, "Hola", "¡Hola!"), with_end, rel_tol=1e-4)
    assert math.isclose(explain.reply_probability(model, tok, "Hola", "¡Hola!", with_end=False), without, rel_tol=1e-4)
    assert with_end < without <= 1
