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
