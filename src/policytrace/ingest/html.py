"""Reader for HTML pages: main text via trafilatura, metadata from meta tags and JSON-LD."""

from __future__ import annotations

import json
from typing import Any

import lxml.html
import trafilatura

from policytrace.documents import Document
from policytrace.ingest.common import RejectError, build_document, decode_bytes, split_paragraphs
from policytrace.ingest.jsonfmt import pick

_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle",
                  "OpinionNewsArticle", "BlogPosting", "WebPage"}


def _json_ld_article(root: lxml.html.HtmlElement) -> dict[str, Any]:
    """The first JSON-LD object of an article type (looking inside @graph and lists)."""
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content())
        except (json.JSONDecodeError, TypeError):
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                kinds = item.get("@type")
                kinds = kinds if isinstance(kinds, list) else [kinds]
                if _ARTICLE_TYPES.intersection(k for k in kinds if isinstance(k, str)):
                    return item
                stack.extend(item.get("@graph", []))
    return {}


def _meta(root: lxml.html.HtmlElement) -> dict[str, str]:
    """Meta tags by their property or name, first value wins."""
    found: dict[str, str] = {}
    for element in root.xpath("//meta[@content]"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        if key and key.lower() not in found:
            found[key.lower()] = element.get("content").strip()
    return found


def _name(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("name")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [v.get("name") for v in value if isinstance(v, dict)]
    return value


def html_fields(content: str) -> dict[str, Any]:
    """An HTML page's article paragraphs and metadata, as keyword arguments for build_document."""
    try:
        root = lxml.html.fromstring(content)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise RejectError(f"cannot parse HTML: {exc}") from None
    ld = _json_ld_article(root)
    meta = _meta(root)
    extracted = trafilatura.bare_extraction(
        content, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, include_links=False, favor_precision=True,
    )
    body = extracted.text if extracted is not None else None
    if not body:
        raise RejectError("no article text found in the HTML page")
    page_title = root.findtext(".//title")
    return dict(
        paragraphs=split_paragraphs(body.replace("\n", "\n\n")),
        title=pick({"a": ld.get("headline"), "b": meta.get("og:title"),
                    "c": extracted.title, "d": page_title}, "a", "b", "c", "d"),
        authors=pick({"a": _name(ld.get("author")), "b": meta.get("author"),
                      "c": meta.get("article:author"), "d": extracted.author}, "a", "b", "c", "d"),
        publisher=pick({"a": _name(ld.get("publisher")), "b": meta.get("og:site_name"),
                        "c": extracted.sitename}, "a", "b", "c"),
        url=pick({"a": meta.get("og:url"), "b": ld.get("url"), "c": extracted.url}, "a", "b", "c"),
        language=root.get("lang") or meta.get("og:locale") or ld.get("inLanguage"),
        # trafilatura keeps only the day; the tags keep the time and zone.
        published=pick({"a": meta.get("article:published_time"), "b": ld.get("datePublished"),
                        "c": meta.get("date"), "d": extracted.date}, "a", "b", "c", "d"),
    )


def read_html(raw: bytes, file_path: str) -> list[Document]:
    """Extract the article body and its metadata from an HTML page."""
    fields = html_fields(decode_bytes(raw))
    return [build_document(document_format="html", file_path=file_path, raw=raw, **fields)]
