"""Remote input: feeds and pages from a local HTTP server, fsspec URLs, and a release from them."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fsspec
import polars as pl
import pytest

from policytrace import __version__, remote
from policytrace.ingest import ingest_folder
from policytrace.remote import (
    HttpFetcher,
    InputSpecError,
    materialize_input,
    materialize_urls,
    read_url_list,
)
from tests.conftest import FIXTURES

REMOTE = FIXTURES / "remote"
# Short timeouts and backoffs keep the tests fast; the slow page stalls far longer than the timeout.
# 2 s, not less: tests run in parallel, and a busy machine must not make a good page time out.
FAST = dict(timeout=2.0, retries=2, backoff=0.01)
LAST_MODIFIED = "Mon, 03 Jun 2024 10:00:00 GMT"
SLOW_PAGE_STALL_SECONDS = 10
ARTICLES = ("colony-recruiters", "storm-v-contracts", "pardons-ended")


class FixtureServer:
    """A real HTTP server on 127.0.0.1 serving tests/fixtures/remote, counting what it is sent."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self.release_slow = threading.Event()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - keep test output clean
                pass

            def do_GET(self):
                with server.lock:
                    server.requests[self.path] += 1
                    server.headers.append({"path": self.path, **dict(self.headers.items())})
                    count = server.requests[self.path]
                try:
                    server.route(self, self.path, count)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the slow page): nothing to answer

        return Handler

    def route(self, handler: BaseHTTPRequestHandler, path: str, count: int) -> None:
        feeds = {"/feeds/rss.xml": ("rss.xml", "application/rss+xml"),
                 "/feeds/atom.xml": ("atom.xml", "application/atom+xml; charset=utf-8"),
                 "/feeds/malformed.xml": ("malformed.xml", "application/rss+xml")}
        if path in feeds:
            name, content_type = feeds[path]
            body = (REMOTE / name).read_bytes().replace(b"{{BASE}}", self.base.encode())
            self.send_cacheable(handler, path, body, content_type)
        elif path.startswith("/articles/") and (REMOTE / path.lstrip("/")).is_file():
            body = (REMOTE / path.lstrip("/")).read_bytes()
            self.send_cacheable(handler, path, body, "text/html; charset=utf-8")
        elif path == "/plain.html":  # the same page every time, with no ETag or Last-Modified
            self.send(handler, 200, (REMOTE / "articles/storm-v-contracts.html").read_bytes(), "text/html")
        elif path == "/changing.html":  # no validators either; a new version from the third request
            name = "storm-v-contracts" if count <= 2 else "pardons-ended"
            self.send(handler, 200, (REMOTE / f"articles/{name}.html").read_bytes(), "text/html")
        elif path == "/old/pardons":
            self.send(handler, 301, b"", "text/plain", Location="/articles/pardons-ended.html")
        elif path == "/flaky.html":  # fails twice, then works
            if count <= 2:
                self.send(handler, 500, b"temporarily broken", "text/plain")
            else:
                self.send(handler, 200, (REMOTE / "articles/storm-v-contracts.html").read_bytes(),
                          "text/html")
        elif path == "/rate-limited.html":
            if count == 1:
                self.send(handler, 429, b"slow down", "text/plain", **{"Retry-After": "7"})
            else:
                self.send(handler, 200, (REMOTE / "articles/pardons-ended.html").read_bytes(),
                          "text/html")
        elif path == "/slow.html":
            self.release_slow.wait(SLOW_PAGE_STALL_SECONDS)
            self.send(handler, 200, b"<html><body><p>too late</p></body></html>", "text/html")
        elif path == "/report.pdf":
            self.send(handler, 200, b"%PDF-1.7 not a page", "application/pdf")
        else:
            self.send(handler, 404, b"not here", "text/plain")

    def send_cacheable(self, handler, path: str, body: bytes, content_type: str) -> None:
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        if handler.headers.get("If-None-Match") == etag:
            with self.lock:
                self.not_modified[path] += 1
            self.send(handler, 304, b"", None, ETag=etag)
        else:
            self.send(handler, 200, body, content_type, ETag=etag,
                      **{"Last-Modified": LAST_MODIFIED})

    @staticmethod
    def send(handler, status: int, body: bytes, content_type: str | None, **headers: str) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def server(monkeypatch):
    # A proxy from the environment would carry the requests away from 127.0.0.1.
    for scheme in ("HTTP", "HTTPS", "ALL"):
        monkeypatch.delenv(f"{scheme}_PROXY", raising=False)
        monkeypatch.delenv(f"{scheme.lower()}_proxy", raising=False)
    fixture_server = FixtureServer()
    thread = threading.Thread(target=fixture_server.httpd.serve_forever,
                              kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fixture_server
    finally:
        fixture_server.release_slow.set()
        fixture_server.httpd.shutdown()
        fixture_server.httpd.server_close()
        thread.join(timeout=5)


def relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def url_list(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "sources.urls"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rss_feed_entries_are_fetched_saved_and_ingested(server, tmp_path: Path):
    before = datetime.now(UTC).replace(microsecond=0)
    result = materialize_input(server.url("/feeds/rss.xml"), tmp_path / "work", **FAST)
    after = datetime.now(UTC)

    assert result.failures == []
    assert result.kind == "web" and result.root == tmp_path / "work"
    pages = {server.url(f"/articles/{name}.html") for name in ARTICLES[:2]}
    assert {item.url for item in result.fetched} == pages
    assert all(item.feed == server.url("/feeds/rss.xml") for item in result.fetched)
    record = json.loads(result.fetched[0].path.read_text(encoding="utf-8"))
    assert {"url", "retrieved_at", "html", "title"} <= set(record)

    ingested = ingest_folder(result.root)
    assert ingested.rejections == []
    assert {doc.url for doc in ingested.documents} == pages
    for doc in ingested.documents:
        assert before <= doc.retrieved_at <= after
        assert doc.document_format == "json"
    colony = next(d for d in ingested.documents if d.url.endswith("colony-recruiters.html"))
    assert colony.title == "Recruiters return to a colony near Saratov"
    assert colony.authors == ["Irina Vesnina"] and colony.publisher == "Volga Courier"
    assert colony.published_at == datetime(2024, 3, 4, 6, 15, tzinfo=UTC)
    assert "200,000 roubles" in colony.text and "All rights reserved" not in colony.text


def test_atom_feed_follows_redirects_and_records_the_final_url(server, tmp_path: Path):
    result = materialize_input(server.url("/feeds/atom.xml"), tmp_path / "work", **FAST)

    assert result.failures == []
    (page,) = result.fetched
    assert page.source == server.url("/old/pardons")
    assert page.url == server.url("/articles/pardons-ended.html")
    (doc,) = ingest_folder(result.root).documents
    assert doc.url == server.url("/articles/pardons-ended.html")
    assert doc.title == "Pardons for convict fighters quietly ended, rights group says"


def test_transient_server_errors_are_retried_until_the_page_comes(server, tmp_path: Path):
    result = materialize_input(server.url("/flaky.html"), tmp_path / "work", **FAST)

    assert result.failures == []
    assert [item.url for item in result.fetched] == [server.url("/flaky.html")]
    assert server.requests["/flaky.html"] == 3  # 500, 500, 200


def test_failing_urls_are_reported_and_the_others_still_come_through(server, tmp_path: Path):
    urls = url_list(tmp_path,
                    "# sources for the weekly run",
                    server.url("/slow.html"),
                    server.url("/missing.html") + "   # removed by the publisher",
                    server.url("/feeds/malformed.xml"),
                    server.url("/report.pdf"),
                    "",
                    server.url("/articles/colony-recruiters.html"),
                    "not a url")
    result = materialize_input(f"urls:{urls}", tmp_path / "work", **FAST)

    assert [item.url for item in result.fetched] == [server.url("/articles/colony-recruiters.html")]
    reasons = dict(result.failures)
    assert set(reasons) == {server.url("/slow.html"), server.url("/missing.html"),
                            server.url("/feeds/malformed.xml"), server.url("/report.pdf"),
                            "not a url"}
    assert reasons[server.url("/slow.html")].startswith("timed out after 2 s")
    assert "gave up after 3 attempts" in reasons[server.url("/slow.html")]
    assert reasons[server.url("/missing.html")] == "HTTP 404 Not Found"
    assert server.requests["/missing.html"] == 1  # a 404 is not retried
    assert reasons[server.url("/feeds/malformed.xml")].startswith("malformed feed: ")
    assert "application/pdf" in reasons[server.url("/report.pdf")]
    assert "not a fetchable http(s) URL" in reasons["not a url"]
    assert len(ingest_folder(result.root).documents) == 1


def test_second_fetch_sends_conditional_requests_and_reuses_cached_pages(server, tmp_path: Path):
    cache = tmp_path / "http-cache"
    feed = server.url("/feeds/rss.xml")
    first = materialize_input(feed, tmp_path / "run1", cache_dir=cache, **FAST)
    second = materialize_input(feed, tmp_path / "run2", cache_dir=cache, **FAST)

    assert not first.failures and not second.failures
    assert [item.from_cache for item in first.fetched] == [False, False]
    assert [item.from_cache for item in second.fetched] == [True, True]
    assert server.not_modified == {"/feeds/rss.xml": 1, "/articles/colony-recruiters.html": 1,
                                   "/articles/storm-v-contracts.html": 1}
    second_requests = server.headers[len(server.headers) // 2:]
    assert all(h.get("If-None-Match") and h.get("If-Modified-Since") == LAST_MODIFIED
               for h in second_requests)
    for old, new in zip(first.fetched, second.fetched, strict=True):
        assert old.path.name == new.path.name
        assert json.loads(old.path.read_text())["html"] == json.loads(new.path.read_text())["html"]


DAYS = ("2024-06-01T06:00:00+00:00", "2024-06-02T06:00:00+00:00", "2024-06-03T06:00:00+00:00")


def test_a_refetched_page_keeps_its_retrieval_time_until_its_content_changes(server, tmp_path: Path,
                                                                              monkeypatch):
    # Scheduled runs on three days: a page answered with 304, one sent again unchanged without
    # validators, and one that changes before the third run.
    pages = {"/articles/colony-recruiters.html": "304", "/plain.html": "same", "/changing.html": "changed"}
    urls = url_list(tmp_path, *(server.url(path) for path in pages))
    saved = []
    for day, now in enumerate(DAYS):
        monkeypatch.setattr(remote, "utc_now", lambda now=now: now)
        result = materialize_input(str(urls), tmp_path / f"run{day}", cache_dir=tmp_path / "cache", **FAST)
        assert not result.failures
        saved.append({pages[item.source.removeprefix(server.base)]: item.path.read_bytes()
                      for item in result.fetched})

    def retrieved(run: dict[str, bytes]) -> dict[str, str]:
        return {page: json.loads(data)["retrieved_at"] for page, data in run.items()}

    assert retrieved(saved[0]) == dict.fromkeys(pages.values(), DAYS[0])
    assert saved[1] == saved[0], "an unchanged page is saved byte for byte as before"
    assert retrieved(saved[2]) == {"304": DAYS[0], "same": DAYS[0], "changed": DAYS[2]}
    assert server.not_modified["/articles/colony-recruiters.html"] == 2


def test_a_scheduled_rerun_over_unchanged_feeds_finds_its_release_up_to_date(server, tmp_path: Path,
                                                                            monkeypatch):
    from policytrace.pipeline import run_in_process

    urls = url_list(tmp_path, server.url("/feeds/rss.xml"), server.url("/feeds/atom.xml"))
    monkeypatch.setattr(remote, "utc_now", lambda: DAYS[0])
    first = run_in_process(f"urls:{urls}", tmp_path / "out")
    monkeypatch.setattr(remote, "utc_now", lambda: DAYS[1])
    second = run_in_process(f"urls:{urls}", tmp_path / "out")

    assert first.published and not first.up_to_date, (first.message, first.failures)
    assert second.up_to_date and second.version == first.version, second.message
    assert len(list((tmp_path / "out" / "releases").iterdir())) == 1
    # The release names the URL list it was built from, not the temporary folder it was fetched into.
    assert first.input == second.input == f"urls:{urls}"
    release = tmp_path / "out" / "latest"
    assert json.loads((release / "ingest_report.json").read_text())["input"] == f"urls:{urls}"
    assert [s["path"] for s in json.loads((release / "datapackage.json").read_text())["sources"]
            if s["title"].startswith("news documents")] == [f"urls:{urls}"]


def test_http_cache_entries_no_run_asked_for_in_a_month_are_removed(server, tmp_path: Path):
    import os
    import time

    cache, feed = tmp_path / "cache", server.url("/feeds/rss.xml")
    materialize_input(feed, tmp_path / "run1", cache_dir=cache, **FAST)  # the feed and its two pages
    materialize_input(server.url("/articles/pardons-ended.html"), tmp_path / "run2", cache_dir=cache, **FAST)
    assert len(list(cache.glob("*.json"))) == 4
    forty_days_ago = time.time() - 40 * 86400
    for entry in cache.iterdir():
        os.utime(entry, (forty_days_ago, forty_days_ago))

    materialize_input(feed, tmp_path / "run3", cache_dir=cache, **FAST)  # answered 304 throughout

    kept = {json.loads(entry.read_text())["url"] for entry in cache.glob("*.json")}
    assert kept == {feed, server.url("/articles/colony-recruiters.html"), server.url("/articles/storm-v-contracts.html")}
    assert len(list(cache.glob("*.body"))) == 3


def test_requests_carry_a_polite_user_agent(server, tmp_path: Path):
    materialize_input(server.url("/feeds/atom.xml"), tmp_path / "work", **FAST)

    agents = {h["User-Agent"] for h in server.headers}
    assert len(agents) == 1
    (agent,) = agents
    assert agent.startswith(f"policytrace/{__version__} ") and "(+https://" in agent


def test_a_run_fetches_with_the_user_agent_and_settings_from_the_environment(server, tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from policytrace.cli import app
    from policytrace.pipeline import run_in_process

    agent = "policytrace/test (+mailto:desk@example.org)"
    monkeypatch.setenv("POLICYTRACE_FETCH_USER_AGENT", agent)
    monkeypatch.setenv("POLICYTRACE_FETCH_RETRIES", "0")
    summary = run_in_process(f"urls:{url_list(tmp_path, server.url('/feeds/rss.xml'), server.url('/flaky.html'))}",
                             tmp_path / "out")
    assert summary.published
    assert {h["User-Agent"] for h in server.headers} == {agent}
    assert server.requests["/flaky.html"] == 1, "no retry with POLICYTRACE_FETCH_RETRIES=0"

    monkeypatch.setenv("POLICYTRACE_FETCH_TIMEOUT", "soon")
    result = CliRunner().invoke(app, ["run", "--input", server.url("/feeds/rss.xml"), "--output", str(tmp_path / "o")])
    assert result.exit_code == 2 and "POLICYTRACE_FETCH_TIMEOUT" in result.output, result.output
    # Runs on local folders fetch nothing and do not read the settings.
    assert run_in_process(REMOTE / "articles", tmp_path / "local").published


def test_retry_after_is_respected_up_to_a_cap(server):
    waits: list[float] = []
    with HttpFetcher(timeout=2.0, retries=1, backoff=0.01, max_retry_after=2.5,
                     sleep=waits.append) as fetcher:
        response = fetcher.get(server.url("/rate-limited.html"))
    assert b"Pardons for convict fighters" in response.body
    assert waits == [2.5]  # the server asked for 7 s
    assert server.requests["/rate-limited.html"] == 2


def test_responses_over_the_size_limit_are_refused(server, tmp_path: Path):
    result = materialize_urls([server.url("/articles/pardons-ended.html")], tmp_path / "work",
                              max_bytes=500, **FAST)
    assert result.fetched == []
    ((url, reason),) = result.failures
    assert "exceeds the 500 byte limit" in reason


def test_memory_filesystem_is_copied_and_ingested(tmp_path: Path):
    fs = fsspec.filesystem("memory")
    base = f"/policytrace-test-{uuid.uuid4().hex}"
    fs.pipe({f"{base}/wire/report.txt": (FIXTURES / "formats/wire_report.txt").read_bytes(),
             f"{base}/export.json": (FIXTURES / "formats/export.json").read_bytes()})
    try:
        result = materialize_input(f"memory://{base}", tmp_path / "work")
    finally:
        fs.rm(base, recursive=True)

    assert result.kind == "fsspec" and result.failures == []
    assert sorted(p.relative_to(result.root).as_posix() for p in (f.path for f in result.fetched)) \
        == ["export.json", "wire/report.txt"]
    ingested = ingest_folder(result.root)
    assert sorted(d.file_path for d in ingested.documents) == ["export.json", "wire/report.txt"]


def test_file_url_is_copied_with_its_relative_paths(tmp_path: Path):
    source = FIXTURES / "formats"
    result = materialize_input(source.resolve().as_uri(), tmp_path / "work")

    assert result.failures == []
    assert relative_files(result.root) == relative_files(source)
    original, materialized = ingest_folder(source), ingest_folder(result.root)
    assert [d.text for d in materialized.documents] == [d.text for d in original.documents]


def test_local_paths_are_used_in_place(tmp_path: Path):
    source = FIXTURES / "formats"
    result = materialize_input(str(source), tmp_path / "work")
    assert result.root == source and result.kind == "local" and not result.fetched
    assert not (tmp_path / "work").exists()
    with pytest.raises(InputSpecError, match="does not exist"):
        materialize_input(str(tmp_path / "nowhere"), tmp_path / "work")


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_cloud_url_without_its_package_names_the_package_to_install(tmp_path: Path):
    with pytest.raises(InputSpecError, match="pip install s3fs"):
        materialize_input("s3://bucket/news/", tmp_path / "work")


def test_a_non_empty_work_folder_is_refused(tmp_path: Path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "left-over.json").write_text("{}")
    with pytest.raises(InputSpecError, match="not empty"):
        materialize_input((FIXTURES / "formats").resolve().as_uri(), tmp_path / "work")


def test_input_specs_are_made_absolute_for_runs_that_start_elsewhere(tmp_path: Path, monkeypatch):
    from policytrace.remote import absolute_spec

    monkeypatch.chdir(tmp_path)
    assert absolute_spec("in") == str(tmp_path / "in")
    assert absolute_spec("feeds.urls") == str(tmp_path / "feeds.urls")
    assert absolute_spec("urls:lists/feeds.txt") == f"urls:{tmp_path / 'lists' / 'feeds.txt'}"
    for url in ("https://news.example/rss.xml", "s3://bucket/in", "simplecache::s3://bucket/in"):
        assert absolute_spec(url) == url


def test_input_urls_are_published_without_credentials():
    from policytrace.remote import without_credentials

    assert without_credentials("https://reader:pw@news.example/feed.xml") == "https://news.example/feed.xml"
    assert without_credentials("simplecache::s3://AKIA1:secret@bucket/in") == "simplecache::s3://bucket/in"
    assert without_credentials("https://news.example/rss?section=world&token=t0p&apiKey=k") == \
        "https://news.example/rss?section=world&token=REDACTED&apiKey=REDACTED"
    assert without_credentials("s3://bucket/in?X-Amz-Signature=ab12") == "s3://bucket/in?X-Amz-Signature=REDACTED"
    for public in ("https://news.example/a%20b?q=x+y", "urls:/data/feeds.urls", "seeds", "file:///data/in"):
        assert without_credentials(public) == public


def test_url_list_files(tmp_path: Path):
    path = url_list(tmp_path, "# comment", "https://a.example/x#section  # note", "  ",
                    "https://b.example/feed.xml")
    assert read_url_list(path) == ["https://a.example/x#section", "https://b.example/feed.xml"]


def test_release_from_fetched_pages_carries_their_urls(server, tmp_path: Path):
    from policytrace.pipeline import run_in_process

    urls = url_list(tmp_path, server.url("/feeds/rss.xml"), server.url("/feeds/atom.xml"))
    materialized = materialize_input(str(urls), tmp_path / "work", **FAST)
    assert materialized.failures == []

    summary = run_in_process(materialized.root, tmp_path / "out")
    assert summary.published, (summary.message, summary.failures, summary.rejected)
    sources = pl.read_parquet(tmp_path / "out" / "latest" / "sources.parquet").filter(
        pl.col("source_type") == "document")
    assert set(sources["url"]) == {server.url(f"/articles/{name}.html") for name in ARTICLES}
    assert sources["retrieved_at"].null_count() == 0


def test_run_takes_a_url_list_directly_and_reports_failing_urls(server, tmp_path: Path):
    from policytrace.pipeline import run_in_process

    urls = url_list(tmp_path, server.url("/feeds/rss.xml"), server.url("/missing.html"))
    summary = run_in_process(f"urls:{urls}", tmp_path / "out")
    assert summary.published, (summary.message, summary.failures)
    assert [r["file"] for r in summary.rejected] == [server.url("/missing.html")]
    assert "404" in summary.rejected[0]["reason"]
    assert not list((tmp_path / "out").glob(".work-*")), "the fetched input folder is cleaned up"
