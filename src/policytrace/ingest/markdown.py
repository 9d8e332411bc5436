"""Reader for Markdown articles with YAML front matter."""

from __future__ import annotations

import frontmatter
import lxml.html
import yaml
from markdown_it import MarkdownIt

from policytrace.documents import Document
from policytrace.ingest.common import RejectError, build_document, decode_bytes
from policytrace.ingest.jsonfmt import metadata_fields

_MARKDOWN = MarkdownIt("commonmark")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "td", "th")


def markdown_paragraphs(markdown: str) -> list[str]:
    """Render Markdown and return the text of each block (paragraph, heading, list item)."""
    html = _MARKDOWN.render(markdown)
    if not html.strip():
        return []
    root = lxml.html.fromstring(f"<div>{html}</div>")
    blocks = []
    for element in root.iter(*_BLOCKS):
        # A list item that wraps a paragraph would otherwise be read twice.
        if element.tag == "li" and element.find("p") is not None:
            continue
        blocks.append(element.text_content())
    return blocks


def read_markdown(raw: bytes, file_path: str) -> list[Document]:
    """Parse front matter for metadata and the Markdown body for text."""
    content = decode_bytes(raw)
    try:
        post = frontmatter.loads(content)
    except yaml.YAMLError as exc:
        raise RejectError(f"invalid YAML front matter: {exc}".splitlines()[0]) from None
    metadata = metadata_fields(dict(post.metadata))
    paragraphs = markdown_paragraphs(post.content)
    if metadata["title"] is None and paragraphs and post.content.lstrip().startswith("# "):
        metadata["title"], paragraphs = paragraphs[0], paragraphs[1:]
    return [build_document(paragraphs=paragraphs, document_format="markdown", file_path=file_path,
                           raw=raw, **metadata)]
