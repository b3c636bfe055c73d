"""Model text as safe HTML: every character escaped, so output can never become markup,
a link or LaTeX (st.html does not run markdown, and `$` is written as an entity)."""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence


def escape(text: str) -> str:
    return html.escape(text, quote=True).replace("$", "&#36;").replace("\n", "⏎<br>")


def prob_colour(p: float) -> str:
    """Red (unlikely) to green (sure), pale enough to read black text on. The hue follows
    the square root of p, so 25 % is half-way (yellow): a small model is rarely sure."""
    hue = round(120 * max(0.0, min(1.0, p)) ** 0.5)
    return f"hsl({hue}, 75%, 82%)"


def coloured_tokens(tokens: Sequence[dict], prob_text: Callable[[float], str],
                    alternatives: Callable[[dict], str]) -> str:
    """One <span> per generated token (dict with 'text' and 'prob'), coloured by its
    probability, numbered, with its alternatives as a tooltip."""
    spans = []
    for i, tok in enumerate(tokens, start=1):
        tip = escape(f"#{i} · {prob_text(tok['prob'])}\n{alternatives(tok)}").replace("⏎<br>", "&#10;")
        text = escape(tok["text"]) or "·"
        spans.append(f'<span title="{tip}" style="background:{prob_colour(tok["prob"])};border-radius:3px;'
                     f'padding:1px 0;margin:0 1px;">{text}</span>')
    return ('<div style="font-family:ui-monospace,monospace;font-size:0.95rem;line-height:1.9;'
            'white-space:pre-wrap;">' + "".join(spans) + "</div>")


# Pale, distinct backgrounds for neighbouring tokens (black text stays readable on each).
PALETTE = ("#fde2e4", "#dbeafe", "#dcfce7", "#fef3c7", "#ede9fe", "#cffafe")


def token_chips(chips: Sequence[dict]) -> str:
    """One <span> per token (dict with 'text', 'tip' and optionally 'kind': "byte" or
    "special", and 'faded'), neighbours in different colours so a reader sees where each
    token starts; a raw byte has a dashed border, a special token is dark; a faded one is grey."""
    spans = []
    for i, chip in enumerate(chips):
        kind = chip.get("kind")
        style = f"background:{PALETTE[i % len(PALETTE)]};color:#111;"
        if kind == "special":
            style = "background:#334155;color:#f8fafc;"
        if chip.get("faded"):
            style += "opacity:0.45;"
        border = "1px dashed #b45309" if kind == "byte" else "1px solid rgba(0,0,0,0.12)"
        text = escape(chip["text"]) or "·"
        tip = escape(chip.get("tip", "")).replace("⏎<br>", "&#10;")
        spans.append(f'<span title="{tip}" style="{style}border:{border};border-radius:4px;padding:2px 3px;'
                     f'margin:2px 1px;display:inline-block;">{text}</span>')
    return ('<div style="font-family:ui-monospace,monospace;font-size:1rem;line-height:2.1;white-space:pre-wrap;">'
            + "".join(spans) + "</div>")
