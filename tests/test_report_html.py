"""report.html in real headless Chromium: offline, no console errors, graph drawn, node details, XSS-proof.

Chromium is driven over the DevTools protocol (tests/report_browser.py); tests that need it are
skipped with a reason when Debian's `chromium` is not installed (tools/ensure-system-deps.sh
installs it in CI). Bundles are SYNTHETIC (tests/report_fixtures.py).
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.report_browser import Browser, chromium_path, content_fraction
from tests.report_fixtures import HOSTILE_LABEL, HOSTILE_TOKEN, write_synthetic_bundle
from tracer.core.errors import BadInput
from tracer.report import write_report
from tracer.report.html import script_json

needs_chromium = pytest.mark.skipif(chromium_path() is None, reason="Debian package `chromium` is not installed")
READY = "window.heisttrace && window.heisttrace.ready === true"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bundles")
    return {
        "plain": write_synthetic_bundle(root / "plain", addresses=160, comparison=True),
        "hostile": write_synthetic_bundle(root / "hostile", addresses=80, hostile=True),
        "big": write_synthetic_bundle(root / "big", addresses=1500),
    }


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.skip("Debian package `chromium` is not installed")
    with Browser() as instance:
        yield instance


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_self_contained_and_locked_down(bundles: dict[str, Path]) -> None:
    html = write_report(bundles["plain"]).read_text()
    parser = _Elements()
    parser.feed(html)
    tags = parser.tags
    assert not [t for t, a in tags if t in ("link", "img", "iframe", "object", "embed", "base")]
    scripts = [a for t, a in tags if t == "script"]
    assert len(scripts) == 3 and all("src" not in a for a in scripts)
    csp = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    for tag, attrs in tags:
        for name, value in attrs.items():
            if name in ("src", "href", "action", "srcset", "poster", "data") and value:
                assert tag == "a" and name == "href", (tag, name, value)
                assert value.startswith(("#", "https://")), value
    assert "url(" not in html.split("<script")[0]  # no CSS fetches
    assert "@import" not in html and "@font-face" not in html


def test_script_json_cannot_break_out() -> None:
    text = script_json({"label": HOSTILE_LABEL, "token": HOSTILE_TOKEN, "sep": "\u2028\u2029", "amp": "&"})
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text)["label"] == HOSTILE_LABEL


def test_same_bundle_renders_byte_identical_html(bundles: dict[str, Path], tmp_path: Path) -> None:
    first = write_report(bundles["plain"], out=tmp_path / "a.html").read_bytes()
    second = write_report(bundles["plain"], out=tmp_path / "b.html").read_bytes()
    moved = shutil.copytree(bundles["plain"], tmp_path / "elsewhere")
    third = write_report(moved).read_bytes()
    assert first == second == third
    regenerated = write_synthetic_bundle(tmp_path / "again", addresses=160, comparison=True)
    assert write_report(regenerated).read_bytes() == first


def test_report_sections_and_explorer_links(bundles: dict[str, Path]) -> None:
    html = write_report(bundles["plain"]).read_text()
    for section in ("summary", "balance", "graph", "endpoints", "paths", "timeline", "comparison", "methodology"):
        assert f'<section id="{section}">' in html
    assert 'href="https://etherscan.io/address/0x' in html and 'href="https://bscscan.com/tx/0x' in html
    assert 'href="https://mempool.space/address/bc1q' in html
    assert html.count("<svg") >= 5  # 4 Sankeys (one per asset) and the timeline
    assert "block_heights" not in html and "19,000,000" not in html and "19000000" in html  # heights verbatim
    assert "apikey=REDACTED" in html  # source URLs as the manifest recorded them (keys already redacted)


def test_bad_format_and_bad_out_are_bad_input(bundles: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown report format"):
        write_report(bundles["plain"], fmt="docx")
    with pytest.raises(BadInput, match="does not exist"):
        write_report(bundles["plain"], out=tmp_path / "missing" / "r.html")


@needs_chromium
def test_report_in_chromium_is_offline_error_free_and_interactive(browser: Browser, bundles: dict[str, Path]) -> None:
    path = write_report(bundles["plain"])
    page = browser.open(path.as_uri())
    page.wait_for(READY)
    node_ids = page.evaluate("window.heisttrace.nodeIds()")
    endpoint = next(
        i
        for i in node_ids
        if page.evaluate(f"window.heisttrace.cy.getElementById({json.dumps(i)}).hasClass('endpoint')")
    )
    # select through the page's API, then through a real cytoscape tap event
    assert page.evaluate(f"window.heisttrace.selectNode({json.dumps(endpoint)})") is True
    details = page.evaluate("document.getElementById('details').innerText")
    chain, address = endpoint.split(":", 1)
    assert address in details and "endpoint" in details and chain in details
    other = node_ids[0]
    page.evaluate(f"void window.heisttrace.cy.getElementById({json.dumps(other)}).emit('tap')")
    assert page.evaluate("document.getElementById('details').dataset.id") == other
    assert page.evaluate("window.heisttrace.cy.$(':selected').map(n => n.id())") == [other]
    link = page.evaluate("document.querySelector('#details a') && document.querySelector('#details a').href")
    assert link and link.startswith("https://") and other.split(":", 1)[1] in link
    # endpoints and swaps are visibly distinct: own shapes/colours (node classes) and dashed orange swap legs
    cy = "window.heisttrace.cy"
    assert page.evaluate(f"{cy}.edges('.swap').length") > 0 and page.evaluate(f"{cy}.nodes('.swapper').length") > 0
    assert page.evaluate(f"{cy}.edges('.swap')[0].style('line-style')") == "dashed"
    assert page.evaluate(f"{cy}.nodes('.endpoint')[0].style('shape')") == "round-rectangle"
    assert page.evaluate(f"{cy}.nodes('.transit').not('.dex')[0].style('shape')") == "ellipse"
    width, channels, rows = page.screenshot("#graph-canvas")
    assert content_fraction(width, channels, rows) > 0.005, "graph canvas looks empty"
    page.settle()
    log = page.log()
    assert log.errors() == []
    assert [c for c in log.console if c.get("type") in ("warning", "warn")] == []
    assert set(log.requests) == {path.as_uri()}, "a request left the file"
    assert log.dialogs == []


@needs_chromium
def test_hostile_token_and_label_render_as_text(browser: Browser, bundles: dict[str, Path]) -> None:
    path = write_report(bundles["hostile"])
    html = path.read_text()
    assert HOSTILE_TOKEN not in html and HOSTILE_LABEL not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = browser.open(path.as_uri())
    page.wait_for(READY)
    text = page.evaluate("document.body.innerText")
    assert HOSTILE_TOKEN in text and HOSTILE_LABEL in text
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.scripts.length") == 3
    hostile_node = page.evaluate(
        "window.heisttrace.nodeIds().find(id => window.heisttrace.cy.getElementById(id).data('name')"
        f".indexOf({json.dumps(HOSTILE_LABEL[:20])}) === 0)"
    )
    assert hostile_node, "the node with the hostile label is in the graph"
    assert page.evaluate(f"window.heisttrace.selectNode({json.dumps(hostile_node)})") is True
    assert page.evaluate("document.getElementById('details').querySelector('h3').textContent") == HOSTILE_LABEL
    token_holder = page.evaluate(
        "JSON.parse(document.getElementById('heisttrace-data').textContent).graph.nodes"
        f".find(n => n.tin.some(t => t.endsWith({json.dumps(HOSTILE_TOKEN)}))).id"
    )
    assert page.evaluate(f"window.heisttrace.selectNode({json.dumps(token_holder)})") is True
    assert HOSTILE_TOKEN in page.evaluate("document.getElementById('details').innerText")
    assert page.evaluate("document.querySelectorAll('#details *').length") > 0
    assert page.evaluate("document.querySelectorAll('img, iframe, object').length") == 0
    page.settle(0.5)
    log = page.log()
    assert log.dialogs == [], "a script injected through a label or token ran"
    assert log.errors() == []
    assert set(log.requests) == {path.as_uri()}


@needs_chromium
def test_big_trace_is_reduced_and_loads(browser: Browser, bundles: dict[str, Path]) -> None:
    path = write_report(bundles["big"])
    page = browser.open(path.as_uri())
    page.wait_for(READY)
    assert "Showing 300 of" in page.evaluate("document.getElementById('graph-note').textContent")
    assert len(page.evaluate("window.heisttrace.nodeIds()")) == 300
    assert page.evaluate("document.querySelectorAll('#endpoints tbody tr').length") > 50
    assert page.log().errors() == []


@needs_chromium
def test_pdf_is_printed_by_chromium(bundles: dict[str, Path], tmp_path: Path) -> None:
    pdf = write_report(bundles["hostile"], fmt="pdf", out=tmp_path / "case.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000


def test_pdf_without_chromium_is_a_clear_error(
    bundles: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer.report import pdf

    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    with pytest.raises(pdf.RendererMissing, match="headless Chromium") as exc:
        write_report(bundles["hostile"], fmt="pdf", out=tmp_path / "case.pdf")
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "case.pdf").exists()


def test_markdown_report_escapes_and_covers_the_case(bundles: dict[str, Path]) -> None:
    text = write_report(bundles["hostile"], fmt="md").read_text()
    assert text.startswith("# SYNTHETIC test case")
    for heading in ("## Balance sheet", "## Endpoints", "## Main laundering paths", "## Timeline", "## Methodology"):
        assert heading in text
    assert HOSTILE_TOKEN not in text and HOSTILE_LABEL not in text
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in text
    assert "(<https://etherscan.io/address/0x" in text


@needs_chromium
def test_real_engine_bundle_renders_in_chromium(browser: Browser, tmp_path: Path) -> None:
    run = pytest.importorskip("tracer.demo.run", reason="the engine's demo is not available")
    from rich.console import Console

    out = tmp_path / "demo"
    run.run_demo(out, console=Console(file=open("/dev/null", "w")), policy=None)  # noqa: SIM115
    path = write_report(out)
    assert path.read_bytes() == write_report(out, out=tmp_path / "again.html").read_bytes()
    page = browser.open(path.as_uri())
    page.wait_for(READY)
    ids = page.evaluate("window.heisttrace.nodeIds()")
    assert ids and page.evaluate(f"window.heisttrace.selectNode({json.dumps(ids[-1])})") is True
    width, channels, rows = page.screenshot("#graph-canvas")
    assert content_fraction(width, channels, rows) > 0.005
    page.settle()
    assert page.log().errors() == []
    assert set(page.log().requests) == {path.as_uri()}


def test_gaps_and_notes_are_listed_under_the_header(bundles: dict[str, Path], tmp_path: Path) -> None:
    bundle = tmp_path / "noted"
    shutil.copytree(bundles["plain"], bundle)
    summary = json.loads((bundle / "summary.json").read_text())
    summary["gaps"] = ["offline: the store lacks ethereum 0xabc blocks 1-9"]
    summary["notes"] = ["ethereum 0xdef: not read to see whether bridge 0x01 passed the value on (<b>down</b>)"]
    (bundle / "summary.json").write_text(json.dumps(summary))
    html = write_report(bundle).read_text()
    assert '<ul class="limits"><li>offline: the store lacks ethereum 0xabc blocks 1-9</li>' in html
    assert "(&lt;b&gt;down&lt;/b&gt;)</li></ul>" in html
    assert '<ul class="limits">' not in write_report(bundles["plain"]).read_text()
