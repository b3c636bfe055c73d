"""A Llama-style decoder-only transformer, readable top to bottom.

Token embeddings -> N x [RMSNorm -> causal self-attention (rotary positions,
grouped-query heads) -> residual -> RMSNorm -> SwiGLU MLP -> residual] ->
RMSNorm -> linear head.

Parameter names follow Hugging Face's `LlamaForCausalLM` exactly
(model.embed_tokens, model.layers.i.self_attn.q_proj, ..., lm_head), so the
state dict *is* a Hugging Face checkpoint and export is only a config file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

_SDPA_HAS_GQA = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Normalise in fp32 like the reference, so bf16 runs stay stable.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_tables(cfg: ModelConfig, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (max_seq_len, head_dim), in HF's "rotate half" layout."""
    hd = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32, device=device) / hd))
    t = torch.arange(cfg.max_seq_len, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, hd); cos/sin: (T, hd) or (B, 1, T, hd). Rotates pairs (i, i + hd/2)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def segment_layout(segments: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions and attention mask for rows that pack several sequences.

    segments: (B, T) integer ids, equal for the positions of one packed sequence
    and contiguous (a row reads ``0 0 0 1 1 2 2 2 ...``). Returns positions
    (B, T) that restart at 0 where a segment starts, and a (B, 1, T, T) boolean
    mask that lets each position see only earlier positions of its own segment,
    so every packed sequence is computed exactly as if it were alone in a row.
    """
    B, T = segments.shape
    idx = torch.arange(T, device=segments.device).expand(B, T)
    starts = torch.ones_like(segments, dtype=torch.bool)
    starts[:, 1:] = segments[:, 1:] != segments[:, :-1]
    first = torch.where(starts, idx, torch.zeros_like(idx)).cummax(dim=1).values
    same = segments[:, :, None] == segments[:, None, :]
    causal = torch.ones(T, T, dtype=torch.bool, device=segments.device).tril()
    return idx - first, (same & causal)[:, None]


@dataclass
class KVCache:
    """Preallocated keys/values for every layer, filled as tokens are generated."""

    k: list[torch.Tensor] = field(default_factory=list)
    v: list[torch.Tensor] = field(default_factory=list)
    pos: int = 0  # how many positions are filled

    @classmethod
    def empty(cls, cfg: ModelConfig, batch: int, device, dtype, max_len: int | None = None) -> "KVCache":
        shape = (batch, cfg.kv_heads, max_len or cfg.max_seq_len, cfg.head_dim)
        return cls(
            k=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layers)],
            v=[torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layers)],
        )

    @property
    def capacity(self) -> int:
        return self.k[0].shape[2]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.n_kv, self.hd = cfg.n_heads, cfg.kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.dim, cfg.n_heads * self.hd, bias=False)
        self.k_proj = nn.Linear(cfg.dim, self.n_kv * self.hd, bias=False)
        self.v_proj = nn.Linear(cfg.dim, self.n_kv * self.hd, bias=False)
        self.o_proj = nn.Linear(cfg.n_heads * self.hd, cfg.dim, bias=False)
        self.dropout = cfg.dropout

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0, want_attn: bool = False, mask=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_kv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        start = 0
        if cache is not None:
            start = cache.pos
            cache.k[layer][:, :, start : start + T] = k
            cache.v[layer][:, :, start : start + T] = v
            k, v = cache.k[layer][:, :, : start + T], cache.v[layer][:, :, : start + T]
        if want_attn:
            y, attn = self._explicit(q, k, v, start, mask)
        else:
            y, attn = self._sdpa(q, k, v, start, mask), None
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.hd)
        return self.o_proj(y), attn

    def _sdpa(self, q, k, v, start: int, mask=None) -> torch.Tensor:
        T, S = q.shape[2], k.shape[2]
        causal = False
        if mask is not None:
            pass  # packed rows (see segment_layout): the mask is already causal
        elif T == S:
            causal = True  # plain causal attention over the whole window
        elif T > 1:
            # A chunk appended after `start` cached positions: query i sees keys <= start + i.
            mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=start)
        # T == 1 with a cache: the new token may see every cached key, no mask needed.
        drop = self.dropout if self.training else 0.0
        if self.n_kv != self.n_heads and not _SDPA_HAS_GQA:
            rep = self.n_heads // self.n_kv
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        extra = {"enable_gqa": True} if self.n_kv != self.n_heads and _SDPA_HAS_GQA else {}
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=drop, **extra)

    def _explicit(self, q, k, v, start: int, mask=None):
        """The same attention, written out so the weights can be returned (slow, for inspection)."""
        rep = self.n_heads // self.n_kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        T, S = q.shape[2], k.shape[2]
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
        if mask is None:
            mask = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=start)
        attn = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return attn @ v, attn


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.up_proj = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, cos, sin, cache=None, layer=0, want_attn=False, mask=None):
        a, attn = self.self_attn(self.input_layernorm(x), cos, sin, cache, layer, want_attn, mask)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.post_attention_layernorm(x)))
        return x, attn


class Backbone(nn.Module):
    """HF's `LlamaModel`: embeddings, blocks, final norm (named `model` in the checkpoint)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.model = Backbone(cfg)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        cos, sin = rope_tables(cfg)
        # Not saved in checkpoints: recomputed from the config.
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        # GPT-2's trick: shrink residual-branch outputs so depth does not blow up the stream.
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
        want_attn: bool = False,
        segments: torch.Tensor | None = None,
        reduction: str = "mean",
    ):
        """idx: (B, T) token ids. Returns (logits, loss, attentions).

        With `targets` the loss is mean cross-entropy over positions whose target
        is not -100 (so fine-tuning can mask prompts); with reduction="sum" their
        sum (a distributed step divides it by the whole batch's count). With a `cache`, positions
        continue from `cache.pos` and the cache advances by T. With `segments`
        (B, T), a row packs several sequences that never see each other (see
        `segment_layout`).
        """
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        if start + T > self.cfg.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens exceeds the context window of {self.cfg.max_seq_len}")
        mask = None
        if segments is not None:
            if cache is not None:
                raise ValueError("packed segments and a KV cache cannot be combined")
            positions, mask = segment_layout(segments)
            cos, sin = self.rope_cos[positions][:, None], self.rope_sin[positions][:, None]
        else:
            cos, sin = self.rope_cos[start : start + T], self.rope_sin[start : start + T]
        x = self.model.embed_tokens(idx)
        attns = []
        for i, block in enumerate(self.model.layers):
            x, attn = block(x, cos, sin, cache, i, want_attn, mask)
            if want_attn:
                attns.append(attn)
        if cache is not None:
            cache.pos += T
        logits = self.lm_head(self.model.norm(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100,
                                   reduction=reduction)
        return logits, loss, attns

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every layer: a list of (B, n_heads, T, T) tensors (rows sum to 1)."""
        return self.forward(idx, want_attn=True)[2]

    def num_params(self, non_embedding: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())  # tied weights count once
        if non_embedding:
            n -= self.model.embed_tokens.weight.numel()
        return n

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token (forward + backward), as in the PaLM appendix:
        6 * matmul params + 12 * layers * dim * seq_len for attention scores."""
        cfg = self.cfg
        n = self.num_params(non_embedding=True)
        if cfg.tie_embeddings:
            n += self.lm_head.weight.numel()  # the head is a matmul even when tied
        return 6.0 * n + 12.0 * cfg.n_layers * cfg.dim * seq_len
