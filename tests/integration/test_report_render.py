"""The HTML report in a real browser: headless Chromium (Debian's `chromium`, which
`make tools` installs) loads the page, lays it out at a phone's and a desktop's width,
screenshots it and prints it to PDF. The report is built by hand: no database needed."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from golive.reports.html import render
from tests.unit.test_report_html import Tags, monthly_report

CHROMIUM_TIMEOUT_S = 60
PHONE, DESKTOP = (390, 844), (1280, 900)

# Headless Chromium keeps a window at least 500 pixels wide, so the page is laid out in an
# iframe of the width under test. Its copy of the page (the report has no script) measures
# the layout and posts it to the wrapper, which writes it on its <html> for --dump-dom.
MEASURE = """<script>
const charts = [...document.querySelectorAll("svg.chart")];
parent.postMessage({
  innerWidth: window.innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  chartRight: Math.max(...charts.map(c => c.getBoundingClientRect().right)),
  chartScale: Math.min(
    ...charts.map(c => c.getBoundingClientRect().width / c.viewBox.baseVal.width)),
}, "*");
</script>
</body>"""
WRAPPER = """<!doctype html>
<html><body style="margin: 0">
<iframe src="{src}" width="{width}" height="{height}" style="border: 0"></iframe>
<script>
window.addEventListener("message", (event) => {{
  for (const [name, value] of Object.entries(event.data)) {{
    document.documentElement.setAttribute("data-" + name.toLowerCase(), String(value));
  }}
}});
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "chromium is not on PATH: run `make tools` (scripts/install-tools.sh installs "
            "Debian's chromium and a font for it)",
            pytrace=False,
        )
    return path


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render(monthly_report()), encoding="utf-8")
    return path


def run_chromium(chromium: str, tmp_path: Path, *args: str) -> str:
    """Chromium's stdout. Its profile, cache and home are under `tmp_path`, so nothing is
    left behind; its process group is killed after `CHROMIUM_TIMEOUT_S` at the latest."""
    home = tmp_path / "chromium-home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the renderers go with it
    )
    try:
        out, err = process.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"chromium took over {CHROMIUM_TIMEOUT_S} s: {' '.join(command)}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.returncode != 0:
        pytest.fail(f"chromium exited with {process.returncode}: {err[-3000:]}")
    return out


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values of the image data (a blank
    page filters to almost only zeros)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            chunks.append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return width, height, len(set(zlib.decompress(b"".join(chunks))))


def test_the_browser_sees_the_three_charts_with_their_classes(
    chromium: str, page: Path, tmp_path: Path
) -> None:
    dom = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    parsed = Tags(dom)
    charts = [a.get("class") for t, a in parsed.tags if t == "svg"]
    assert sorted(charts) == [
        "chart chart-burn-up",
        "chart chart-burn-up",
        "chart chart-burn-up",
        "chart chart-deployments",
        "chart chart-downtime",
    ]
    assert "Downtime and degraded time" in dom
    assert parsed.with_class("no-data") == []


@pytest.mark.parametrize(("width", "height"), [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_page_never_scrolls_sideways_and_charts_keep_readable_text(
    chromium: str, page: Path, tmp_path: Path, width: int, height: int
) -> None:
    measured = tmp_path / "measured.html"
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE, 1))
    wrapper = tmp_path / "wrapper.html"
    wrapper.write_text(WRAPPER.format(src=measured.name, width=width, height=height))
    dom = run_chromium(
        chromium,
        tmp_path,
        "--window-size=1400,1000",
        "--virtual-time-budget=2000",
        "--dump-dom",
        wrapper.as_uri(),
    )
    (root,) = [a for t, a in Tags(dom).tags if t == "html"]
    assert root.get("data-innerwidth") == str(width), f"the page was not laid out {width} wide"
    # Wide tables scroll inside their own container; the page itself fits the screen.
    assert int(root.get("data-scrollwidth") or 0) <= width
    assert float(root.get("data-chartright") or 0) <= width
    # Chart text is 12 viewBox units: a scale under 0.8 would make it smaller than ~10 px.
    assert float(root.get("data-chartscale") or 0) >= 0.8


@pytest.mark.parametrize(("width", "height"), [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots_at_phone_and_desktop_widths(
    chromium: str, page: Path, tmp_path: Path, width: int, height: int
) -> None:
    shot = tmp_path / "report.png"
    run_chromium(
        chromium,
        tmp_path,
        f"--window-size={width},{height}",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert png_size_and_colours(shot)[:2] == (width, height)
    assert png_size_and_colours(shot)[2] > 16, "the screenshot is blank"


def test_the_page_prints_to_a_multi_page_a4_pdf_with_its_fonts(
    chromium: str, page: Path, tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    run_chromium(
        chromium, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(data) > 50_000
    pages = re.findall(rb"/Type\s*/Page\b", data)
    assert 2 <= len(pages) <= 10
    (media_box,) = set(re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data))
    assert [round(float(v)) for v in media_box.split()] == [0, 0, 595, 842]  # A4, in points
    # Text is drawn with a real font (a font missing from the machine would be boxes).
    assert re.search(rb"/BaseFont\s*/[A-Z]{6}\+\w+", data)
