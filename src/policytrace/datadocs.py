"""GX Data Docs that open offline: built into a chosen folder, then stripped of every network fetch."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path
from typing import Any

# GX's pages pull Bootstrap, jQuery, Font Awesome and Vega from CDNs and a logo from S3 (which
# reports the visit). We drop every external script and stylesheet, inline the logo, and add a
# small stylesheet so the pages stay readable as plain HTML.
_EXTERNAL_TAG = re.compile(
    r"<script\b[^>]*\bsrc=[\"']https?://[^\"']*[\"'][^>]*>\s*</script>"
    r"|<link\b[^>]*\bhref=[\"']https?://[^\"']*[\"'][^>]*>",
    re.IGNORECASE,
)
_ANY_SCRIPT = re.compile(r"<script\b(?![^>]*application/json)[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_EXTERNAL_IMAGE = re.compile(r"(<img\b[^>]*?\bsrc=)[\"']https?://[^\"']*[\"']", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.IGNORECASE)
_FOOTER = re.compile(r"<footer>.*?</footer>", re.IGNORECASE | re.DOTALL)  # a tracking newsletter link
_INTEGRITY = re.compile(r"\s(?:integrity|crossorigin)=\"[^\"]*\"")
_FETCHED = re.compile(r"<(?!a\b)(\w+)\b[^>]*?\b(?:src|href)=[\"'](https?://[^\"']+)", re.IGNORECASE)
_MARK = "<!-- policytrace: offline -->"
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1rem 2rem;color:#222}
.collapse{display:block!important}.modal,.modal-backdrop,.btn-group,.ge-action-card{display:none!important}
.sticky-top,.sticky,.navbar,.ge-breadcrumbs,nav{position:static!important}
.ge-breadcrumbs{display:block!important;margin:0 0 1rem 0}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}
i.fas,i.far{font-style:normal}.fa-check-circle::before{content:"\\2714";color:#1a7f37}
.fa-times::before{content:"\\2718";color:#cf222e}.fa-exclamation-triangle::before{content:"\\26A0"}
.text-success{color:#1a7f37}.text-danger{color:#cf222e}
"""


class _MemoryBytecodeCache:
    """Jinja's compiled templates kept in memory, keyed by template and checked against its source.

    GX makes a new Jinja environment for every page it renders, so each page compiled the same
    templates again: about 0.2 s of CPU a page, most of the time spent on Data Docs.
    """

    def __init__(self) -> None:
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Any) -> None:
        if (code := self.codes.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Any) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


def reuse_compiled_templates() -> None:
    """Make GX's Data Docs views share compiled templates (same pages, rendered without recompiling)."""
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    original = DefaultJinjaView.__init__
    if getattr(original, "_shares_templates", False):
        return
    cache_class = type("MemoryBytecodeCache", (_MemoryBytecodeCache, jinja2.BytecodeCache), {})
    caches: dict[type, Any] = {}  # one per view class, as each class may set its environment up differently

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.env.bytecode_cache = caches.setdefault(type(self), cache_class())

    __init__._shares_templates = True  # type: ignore[attr-defined]
    DefaultJinjaView.__init__ = __init__  # type: ignore[method-assign]


def add_docs_site(context: Any, folder: Path) -> None:
    """Make a filesystem Data Docs site in `folder` the GX context's only one."""
    # An ephemeral context comes with a site in a fresh temporary folder, which every
    # build_data_docs rendered too (suite pages included) and left behind: 4 MB per context.
    for name in list(context.variables.data_docs_sites or {}):
        context.delete_data_docs_site(name)
    context.add_data_docs_site(
        site_name="policytrace",
        site_config={
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # No expectation suite pages: every validation page lists its suite's expectations
            # with their results, and a table cut into chunks would get one suite page per chunk.
            "site_section_builders": {"expectations": "0"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(folder.resolve())},  # GX wants it absolute
        },
    )


def external_fetches(html: str) -> list[str]:
    """URLs a browser would fetch on opening the page (links to click are not fetches)."""
    found = [match.group(2) for match in _FETCHED.finditer(html)]
    return found + re.findall(r"url\(\s*['\"]?(https?://[^)'\"]+)", html)


def make_docs_offline(folder: Path) -> None:
    """Rewrite every page of a Data Docs site so that it loads nothing from the network."""
    _rewrite_pages(folder)
    # Fonts and tutorial animations are 5 MB per site; the pages read fine without them.
    for heavy in ("fonts", "images"):
        shutil.rmtree(folder / "static" / heavy, ignore_errors=True)


def _rewrite_pages(folder: Path) -> None:
    logo = folder / "static" / "images" / "logo-long.png"
    logo_uri = ("data:image/png;base64," + base64.b64encode(logo.read_bytes()).decode()
                if logo.exists() else "")
    pages = sorted(folder.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if _MARK in html:
            continue
        html = _EXTERNAL_TAG.sub("", html)
        # The index is drawn by JavaScript from CDN libraries; without them we list the pages.
        html = _ANY_SCRIPT.sub("", html)
        html = _INTEGRITY.sub("", html)
        html = _FOOTER.sub("", html)
        html = _EXTERNAL_IMAGE.sub(lambda m: f'{m.group(1)}"{logo_uri}"', html)
        html = _CSS_URL.sub("none", html)
        if page == folder / "index.html":
            links = "".join(
                f'<li><a href="{p.relative_to(folder).as_posix()}">{p.relative_to(folder).as_posix()}</a></li>'
                for p in pages if p != page and "static" not in p.parts)
            html = html.replace("<body>", f"<body><h2>Validation results</h2><ul>{links}</ul>", 1)
        html = html.replace("</head>", f"{_MARK}<style>{_STYLE}</style></head>", 1)
        page.write_text(html, encoding="utf-8")
