"""Model Markdown to HTML that is safe to insert: raw HTML is escaped, images are not rendered,
links keep only http(s) and mailto targets (markdown-it-py's validator) and open safely."""
from __future__ import annotations

from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def _safe_link(self, tokens, idx, options, env):
    token = tokens[idx]
    href = token.attrGet("href") or ""
    if not href.lower().startswith(("http://", "https://", "mailto:")):
        token.attrSet("href", "#")
    token.attrSet("rel", "noopener noreferrer nofollow")
    token.attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


_md.add_render_rule("link_open", _safe_link)


def markdown_to_html(text: str) -> str:
    return _md.render(text or "")
