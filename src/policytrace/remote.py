"""Materialise a run's input (fsspec URLs, web pages, RSS/Atom feeds) as a local folder."""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
import importlib.util
import json
import logging
import os
import posixpath
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import fsspec
import httpx
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from policytrace import __version__

log = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/policytrace/policytrace"
# Site operators who see our requests in their logs can tell who we are and where to complain.
DEFAULT_USER_AGENT = f"policytrace/{__version__} (+{PROJECT_URL})"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# A server may ask us to come back in an hour; a run waits at most this long per retry.
MAX_RETRY_AFTER_SECONDS = 60.0
URL_LIST_PREFIX = "urls:"
URL_LIST_SUFFIX = ".urls"
COPY_CHUNK_BYTES = 1024 * 1024
# HTTP cache entries no run has asked for in this long are removed: pages that left their feeds.
# Long enough that a feed that is down for a few runs keeps its pages' retrieval times.
HTTP_CACHE_MAX_AGE_DAYS = 30
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

# Query parameters whose values are credentials (private feed tokens, signed object-store URLs).
_SECRET_PARAMETER = re.compile(r"token|key|secret|password|passwd|auth|sig|credential|session",
                               re.IGNORECASE)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)(?:://|::)")
_FEED_MEDIA_TYPES = frozenset({"application/rss+xml", "application/atom+xml",
                               "application/rdf+xml"})
_PAGE_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Types under which servers also send feeds or pages; for these the body decides.
_SNIFFED_MEDIA_TYPES = frozenset({"", "text/xml", "application/xml", "text/plain",
                                  "application/octet-stream"})
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:rdf)[\s>]")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([\w.:\-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:\-]+)", re.IGNORECASE)

InputKind = Literal["local", "fsspec", "web"]


class InputSpecError(ValueError):
    """The input spec as a whole cannot be used (nothing there, unknown scheme, missing package)."""


class FetchError(Exception):
    """A URL could not be fetched; the message is the reason users see."""


class Failure(NamedTuple):
    """An input that did not make it into the local folder, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class FetchedFile:
    """One file written into the local folder, and where it came from."""

    source: str  # the remote file or the URL that was asked for
    path: Path
    url: str | None = None  # for web pages: the URL after redirects
    feed: str | None = None  # for web pages: the feed that listed the page
    from_cache: bool = False  # the server answered 304 Not Modified and the cached body was used


@dataclass
class MaterializedInput:
    """A local folder (or file) holding the run's input, with what was fetched and what failed."""

    root: Path
    kind: InputKind
    fetched: list[FetchedFile] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class FetchSettings(BaseSettings):
    """How pages and feeds are fetched in a run, from POLICYTRACE_FETCH_* environment variables
    (e.g. POLICYTRACE_FETCH_USER_AGENT="policytrace/0.1 (+mailto:desk@example.org)")."""

    model_config = SettingsConfigDict(env_prefix="POLICYTRACE_FETCH_")

    timeout: float = Field(20.0, gt=0)
    retries: int = Field(3, ge=0)
    backoff: float = Field(0.5, ge=0)
    user_agent: str = DEFAULT_USER_AGENT
    max_bytes: int = Field(MAX_RESPONSE_BYTES, gt=0)


def fetch_settings() -> dict[str, Any]:
    """The run's FetchSettings as keyword arguments of materialize_input; InputSpecError naming the
    variable when one is not valid."""
    try:
        return FetchSettings().model_dump()
    except ValidationError as exc:
        problems = "; ".join(f"POLICYTRACE_FETCH_{str(error['loc'][0]).upper()}: {error['msg']}"
                             for error in exc.errors())
        raise InputSpecError(f"invalid fetch setting: {problems}") from None


def without_credentials(spec: str) -> str:
    """spec as it may be published: in every URL of it (`simplecache::s3://...` chains several), no
    user name or password, and the values of query parameters that look like secrets (token, key,
    signature, ...) replaced by `REDACTED`. For reports and release metadata."""
    if spec.startswith(URL_LIST_PREFIX) or _scheme(spec) is None:
        return spec
    return "::".join(_public_url(part) for part in spec.split("::"))


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if "@" not in parts.netloc and not any(_SECRET_PARAMETER.search(name) for name, _ in pairs):
        return url  # as written, not re-encoded
    query = urlencode([(name, "REDACTED" if _SECRET_PARAMETER.search(name) else value) for name, value in pairs])
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, query, parts.fragment))


def absolute_spec(spec: str) -> str:
    """spec meaning the same from any working folder: a local path (folder, file or URL list) or the
    file of `urls:FILE` made absolute; a URL as it is."""
    if spec.startswith(URL_LIST_PREFIX):
        return URL_LIST_PREFIX + str(Path(spec[len(URL_LIST_PREFIX):]).expanduser().resolve())
    return spec if _scheme(spec) is not None else str(Path(spec).expanduser().resolve())


def is_local_spec(spec: str) -> bool:
    """True when spec names a local folder or file of documents (not a URL or a URL list)."""
    if spec.startswith(URL_LIST_PREFIX) or _scheme(spec) is not None:
        return False
    return Path(spec).suffix.lower() != URL_LIST_SUFFIX


def materialize_input(
    spec: str,
    workdir: Path,
    *,
    cache_dir: Path | None = None,
    timeout: float = 20,
    retries: int = 3,
    backoff: float = 0.5,
    user_agent: str = DEFAULT_USER_AGENT,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> MaterializedInput:
    """Make the input named by `spec` available as a local folder the ingestion can read.

    spec is a local path (returned as is, workdir untouched), an `http(s)://` URL of a page or
    feed, `urls:PATH` or a local `*.urls` file listing such URLs, or any other fsspec URL
    (`file://`, `memory://`, `s3://` ...), whose files are copied below workdir. Fetched and
    copied files go into workdir, which is created and must be empty. Failing URLs and files
    are listed in `failures`; a spec that cannot be used at all raises InputSpecError.
    """
    scheme = _scheme(spec)
    if spec.startswith(URL_LIST_PREFIX):
        urls = read_url_list(Path(spec[len(URL_LIST_PREFIX):]).expanduser())
    elif scheme in ("http", "https"):
        urls = [spec]
    elif scheme is not None:
        return copy_fsspec_tree(spec, workdir)
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            raise InputSpecError(f"input {spec} does not exist")
        if not (path.is_file() and path.suffix.lower() == URL_LIST_SUFFIX):
            return MaterializedInput(root=path, kind="local")
        urls = read_url_list(path)
    return materialize_urls(urls, workdir, cache_dir=cache_dir, timeout=timeout, retries=retries,
                            backoff=backoff, user_agent=user_agent, max_bytes=max_bytes)


def materialize_urls(
    urls: Iterable[str],
    workdir: Path,
    *,
    cache_dir: Path | None = None,
    timeout: float = 20,
    retries: int = 3,
    backoff: float = 0.5,
    user_agent: str = DEFAULT_USER_AGENT,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> MaterializedInput:
    """Fetch pages and feeds (each feed entry's page) into workdir as JSON records, one per page."""
    result = MaterializedInput(root=_empty_workdir(workdir), kind="web")
    with HttpFetcher(timeout=timeout, retries=retries, backoff=backoff, user_agent=user_agent,
                     cache_dir=cache_dir, max_bytes=max_bytes) as fetcher:
        collector = _PageCollector(fetcher, result)
        for url in urls:
            collector.add(url)
        if fetcher.cache is not None:
            fetcher.cache.prune(HTTP_CACHE_MAX_AGE_DAYS)
    return result


def read_url_list(path: Path) -> list[str]:
    """URLs listed in a text file, one per line; blank lines and `#` comments are ignored."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputSpecError(f"cannot read URL list {path}: {exc.strerror or exc}") from None
    urls = []
    for line in content.splitlines():
        # A comment starts a line or follows whitespace; a '#' inside a URL is its fragment.
        url = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if url:
            urls.append(url)
    return urls


def copy_fsspec_tree(url: str, workdir: Path) -> MaterializedInput:
    """Copy the file, or every file below the folder, at an fsspec URL into workdir (same tree)."""
    fs, base = _filesystem(url)
    try:
        is_file = fs.isfile(base)
        if not is_file and not fs.isdir(base):
            raise InputSpecError(f"input {url} does not exist")
        remote_files = [base] if is_file else sorted(fs.find(base, withdirs=False))
    except OSError as exc:
        raise InputSpecError(f"cannot list {url}: {exc}") from None
    result = MaterializedInput(root=_empty_workdir(workdir), kind="fsspec")
    for remote in remote_files:
        relative = posixpath.basename(remote) if is_file else posixpath.relpath(remote, base)
        source = f"{url.rstrip('/')}/{relative}" if not is_file else url
        if relative.startswith("../") or relative in ("", ".", ".."):
            result.failures.append(Failure(source, "path lies outside the input folder"))
            continue
        target = workdir.joinpath(*relative.split("/"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Streamed in chunks: remote files may be larger than memory.
            with fs.open(remote, "rb") as reader, target.open("wb") as writer:
                shutil.copyfileobj(reader, writer, COPY_CHUNK_BYTES)
        except Exception as exc:  # noqa: BLE001 - backends raise their own errors; report, go on
            target.unlink(missing_ok=True)
            result.failures.append(Failure(source, f"cannot copy: {type(exc).__name__}: {exc}"))
            continue
        result.fetched.append(FetchedFile(source=source, path=target))
    return result


def _scheme(spec: str) -> str | None:
    """The URL scheme of spec (`http`, `s3`, `simplecache` in `simplecache::s3://...`), or None."""
    match = _SCHEME.match(spec)
    return match.group(1).lower() if match else None


def _filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise InputSpecError(_missing_backend_message(url, exc)) from None
    except ValueError as exc:
        raise InputSpecError(f"cannot open {url}: {exc}") from None


def _missing_backend_message(url: str, error: ImportError) -> str:
    """Name the package that a URL's scheme needs (s3fs for s3://, gcsfs for gs://)."""
    from fsspec.registry import known_implementations

    for part in url.split("::"):
        protocol = part.split("://", 1)[0].lower()
        package = known_implementations.get(protocol, {}).get("class", "").split(".")[0]
        if package and package != "fsspec" and importlib.util.find_spec(package) is None:
            return (f"{protocol}:// input needs the {package} package, which policytrace does not "
                    f"install: pip install {package}")
    return f"{url} needs a package that is not installed: {error}"


def _empty_workdir(workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        # Files left from an earlier run would be ingested again as if they were new input.
        raise InputSpecError(f"work folder {workdir} is not empty")
    return workdir


def utc_now() -> str:
    """The current time in UTC, to the second, as fetched pages record it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class HttpResponse:
    """A successful response body (from the network or from the cache after a 304)."""

    url: str  # after redirects
    content_type: str
    body: bytes
    from_cache: bool = False
    # When this body was first retrieved: now for a new body, the earlier time for a body that is
    # the same as last time (a 304, or the same bytes again), so an unchanged page saves the same file.
    retrieved_at: str | None = None


class HttpCache:
    """Earlier responses, one pair of files per URL: what was received and when it was first
    received (for every response), and the body when the server sent a validator (ETag or
    Last-Modified), to answer a 304 with."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.directory / f"{key}.json", self.directory / f"{key}.body"

    def used(self, url: str) -> None:
        """Note that a run asked for url (the entry's file time), so `prune` keeps it."""
        try:
            os.utime(self._paths(url)[0])
        except OSError:
            pass

    def prune(self, max_age_days: float) -> int:
        """Remove the entries no run has asked for in max_age_days; returns how many went."""
        oldest = time.time() - max_age_days * 86400
        gone = 0
        for meta_path in self.directory.glob("*.json"):
            try:
                if meta_path.stat().st_mtime >= oldest:
                    continue
                meta_path.with_suffix(".body").unlink(missing_ok=True)
                meta_path.unlink()
            except OSError:
                continue
            gone += 1
        return gone

    def _meta(self, url: str) -> dict[str, Any] | None:
        try:
            meta = json.loads(self._paths(url)[0].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("url") == url else None

    def load(self, url: str) -> tuple[dict[str, str], HttpResponse] | None:
        """The validators and body stored for url, or None (no validators, no body, or a damaged entry)."""
        meta = self._meta(url)
        if meta is None or not (meta.get("etag") or meta.get("last_modified")):
            return None
        try:
            body = self._paths(url)[1].read_bytes()
        except OSError:
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("body_sha256"):
            return None
        validators = {"etag": meta.get("etag"), "last_modified": meta.get("last_modified")}
        response = HttpResponse(meta["final_url"], meta.get("content_type", ""), body, from_cache=True,
                                retrieved_at=_first_retrieved(meta))
        return {k: v for k, v in validators.items() if v}, response

    def store(self, url: str, response: HttpResponse, etag: str | None,
              last_modified: str | None) -> HttpResponse:
        """Record a response; returns it with its retrieval time: the earlier one if the same body
        was received before (with or without validators), else now."""
        meta_path, body_path = self._paths(url)
        digest = hashlib.sha256(response.body).hexdigest()
        earlier = self._meta(url)
        retrieved_at = (_first_retrieved(earlier) if earlier and earlier.get("body_sha256") == digest
                        else None) or utc_now()
        meta = {"url": url, "final_url": response.url, "content_type": response.content_type,
                "etag": etag, "last_modified": last_modified, "body_sha256": digest,
                "retrieved_at": retrieved_at}
        if etag or last_modified:  # only a body the server can later confirm unchanged is kept
            _write_atomically(body_path, response.body)
        else:
            body_path.unlink(missing_ok=True)
        _write_atomically(meta_path, json.dumps(meta, indent=2).encode("utf-8"))
        return dataclasses.replace(response, retrieved_at=retrieved_at)


def _first_retrieved(meta: dict[str, Any]) -> str | None:
    """When a cache entry's body was first retrieved (`stored_at` in entries written before that was kept)."""
    return meta.get("retrieved_at") or meta.get("stored_at")


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)


class HttpFetcher:
    """GET with a polite User-Agent, timeouts, retries, a size limit and a conditional cache."""

    def __init__(
        self,
        *,
        timeout: float = 20,
        retries: int = 3,
        backoff: float = 0.5,
        user_agent: str = DEFAULT_USER_AGENT,
        cache_dir: Path | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.cache = HttpCache(cache_dir) if cache_dir is not None else None
        self.client = httpx.Client(
            headers={"User-Agent": user_agent,
                     "Accept": "text/html, application/xhtml+xml, application/rss+xml, "
                               "application/atom+xml, application/xml;q=0.9, */*;q=0.5"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
        )

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def get(self, url: str) -> HttpResponse:
        """The body at url; FetchError with the reason once retries are spent or pointless."""
        cached = self.cache.load(url) if self.cache else None
        headers = {}
        if cached:
            validators, _ = cached
            if "etag" in validators:
                headers["If-None-Match"] = validators["etag"]
            if "last_modified" in validators:
                headers["If-Modified-Since"] = validators["last_modified"]
        attempts = max(self.retries, 0) + 1
        for attempt in range(1, attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 304 and cached:
                        self.cache.used(url)  # type: ignore[union-attr]  # cached implies a cache
                        return cached[1]
                    if response.is_success:
                        return self._keep(url, response)
                    reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                    if response.status_code not in RETRYABLE_STATUS:
                        raise FetchError(reason)
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    if retry_after is not None:
                        wait = min(retry_after, self.max_retry_after)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise FetchError(f"not a fetchable http(s) URL: {exc}") from None
            except httpx.TooManyRedirects:
                raise FetchError("too many redirects") from None
            except httpx.TimeoutException as exc:
                reason = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                reason = f"connection failed: {type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:  # e.g. a body that fails to decompress: no use retrying
                raise FetchError(f"{type(exc).__name__}: {exc}") from None
            if attempt == attempts:
                break
            log.info("%s: %s; retrying in %.2f s (attempt %d of %d)", url, reason, wait,
                     attempt + 1, attempts)
            self.sleep(wait)
        raise FetchError(f"{reason} (gave up after {attempts} attempts)")

    def _keep(self, url: str, response: httpx.Response) -> HttpResponse:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"response of {int(declared)} bytes exceeds the {self.max_bytes} "
                             "byte limit")
        chunks, size = [], 0
        # Counted after decompression, so a small compressed bomb cannot fill memory either.
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"response exceeds the {self.max_bytes} byte limit")
            chunks.append(chunk)
        headers = response.headers
        kept = HttpResponse(str(response.url), headers.get("Content-Type", ""), b"".join(chunks))
        if self.cache:
            return self.cache.store(url, kept, headers.get("ETag"), headers.get("Last-Modified"))
        return kept


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds to wait: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify(response: HttpResponse) -> Literal["feed", "page"] | None:
    """Whether a response is a feed or an HTML page: by media type, else by its first bytes."""
    media_type = response.content_type.split(";", 1)[0].strip().lower()
    if media_type in _FEED_MEDIA_TYPES:
        return "feed"
    if media_type in _PAGE_MEDIA_TYPES:
        return "page"
    if media_type in _SNIFFED_MEDIA_TYPES:
        head = response.body[:2048].lower()
        if _FEED_ROOT.search(head):
            return "feed"
        if b"<html" in head or b"<!doctype html" in head:
            return "page"
    return None


def decode_html(body: bytes, content_type: str) -> str:
    """A page's text: the charset the server names, else the page's meta tag, else UTF-8."""
    named = [match.group(1) for match in (_CHARSET_PARAM.search(content_type),
                                          _META_CHARSET.search(body[:4096])) if match]
    for charset in [c.decode("ascii") if isinstance(c, bytes) else c for c in named]:
        try:
            # utf-8-sig: a byte-order mark would otherwise end up at the start of the text.
            return body.decode("utf-8-sig" if charset.lower() in ("utf-8", "utf8") else charset,
                               errors="replace")
        except LookupError:  # a charset name Python does not know: try the next source
            continue
    return body.decode("utf-8-sig", errors="replace")


class _PageCollector:
    """Fetches URLs into a MaterializedInput: pages are saved, feeds expanded into their pages."""

    def __init__(self, fetcher: HttpFetcher, result: MaterializedInput) -> None:
        self.fetcher = fetcher
        self.result = result
        self.seen: set[str] = set()

    def add(self, url: str, *, feed: str | None = None, title: str | None = None) -> None:
        """Fetch url and save it as a page, or, for a feed, save the pages its entries link to."""
        if url in self.seen:  # two feeds listing the same article: fetch and save it once
            return
        self.seen.add(url)
        try:
            response = self.fetcher.get(url)
        except FetchError as exc:
            self.result.failures.append(Failure(url, str(exc)))
            return
        kind = classify(response)
        if kind == "page":
            self._save_page(url, response, feed=feed, title=title)
        elif kind == "feed" and feed is None:
            self._expand_feed(url, response)
        elif kind == "feed":
            self.result.failures.append(Failure(url, f"feed entry of {feed} is itself a feed; "
                                                     "feeds are followed one level only"))
        else:
            media_type = response.content_type.split(";", 1)[0].strip() or "none given"
            self.result.failures.append(Failure(url, f"neither an HTML page nor an RSS/Atom feed "
                                                     f"(content type: {media_type})"))

    def _expand_feed(self, url: str, response: HttpResponse) -> None:
        # Bytes, never a str: feedparser would treat a str as a URL or a file name to open.
        parsed = feedparser.parse(response.body, response_headers={
            "content-location": response.url, "content-type": response.content_type})
        if not parsed.entries:
            reason = (f"malformed feed: {parsed.get('bozo_exception')}" if parsed.bozo
                      else "feed lists no entries")
            self.result.failures.append(Failure(url, reason))
            return
        for index, entry in enumerate(parsed.entries):
            link = entry.get("link")
            if not link:
                label = entry.get("title") or entry.get("id") or f"entry {index}"
                self.result.failures.append(Failure(f"{url} [{label}]", "feed entry has no link"))
                continue
            self.add(link, feed=url, title=entry.get("title"))

    def _save_page(self, url: str, response: HttpResponse, *, feed: str | None,
                   title: str | None) -> None:
        record = {"url": response.url,
                  "retrieved_at": response.retrieved_at or utc_now(),
                  "html": decode_html(response.body, response.content_type)}
        if title:
            record["title"] = title
        if feed:
            record["feed"] = feed
        if response.url != url:
            record["requested_url"] = url
        # Named by the URL asked for, so the same article keeps its file name from run to run.
        path = self.result.root / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()[:16]}.json"
        path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        self.result.fetched.append(FetchedFile(source=url, path=path, url=response.url, feed=feed,
                                               from_cache=response.from_cache))
