"""Markup to text: the prose of an HTML or Markdown document, one line per block.

HTML goes through `readers.html_text`; Markdown is parsed by markdown-it-py
(CommonMark plus tables and strikethrough) and laid out the same way: code blocks
dropped as <pre> is, inline code kept, links keeping their text without the URL.
"""
from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .readers import html_text


def markup_to_text(text: str, suffix: str) -> str:
    if suffix in (".html", ".htm"):
        return html_text(text)
    if suffix in (".md", ".markdown"):
        return markdown_text(text)
    return text


# CommonMark plus the GitHub tables and ~~strikethrough~~ that READMEs use.
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_text(text: str) -> str:
    """The prose of a Markdown document, laid out as `html_text` lays out a page: one
    line per block (heading, paragraph, list item, quote, table row with its cells
    tab-separated), whitespace collapsed within it.

    The same choices as html_text: code blocks (fenced or indented) are dropped as
    <pre> is, inline code is kept; links keep their text and lose their URL (inline
    or reference), images keep their alt text; raw HTML goes through html_text."""
    lines: list[str] = []
    row: list[str] | None = None  # the cells of the table row being read
    for tok in _MARKDOWN.parse(text):
        if tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            lines.append("\t".join(row or []).strip())
            row = None
        elif tok.type == "inline" and row is not None:
            row.append(_collapse(_inline_text(tok.children or [])))
        elif tok.type == "inline":
            lines.extend(_collapse(line) for line in _inline_text(tok.children or []).split("\n"))
        elif tok.type == "html_block":
            lines.append(html_text(tok.content))
        # fence and code_block (code), and the *_open/_close of structure, add no text
    return "\n".join(line for line in lines if line)


def _inline_text(tokens: list[Token]) -> str:
    """The text of an inline run; only a hard break (two trailing spaces, a backslash)
    becomes a new line. Emphasis, link and inline-HTML markers add nothing."""
    out = []
    for tok in tokens:
        if tok.type in ("text", "text_special", "code_inline"):
            out.append(tok.content)
        elif tok.type == "softbreak":
            out.append(" ")
        elif tok.type == "hardbreak":
            out.append("\n")
        elif tok.type == "image":
            out.append(_inline_text(tok.children or []))
    return "".join(out)


def _collapse(text: str) -> str:
    return " ".join(text.split())
