"""Reading documents back as a reader would: the PDF's text page by page (poppler's
pdftotext), its QR code decoded from a rendered page (pdftoppm and zbarimg), and pages
rendered to PNG into test-output/documents/ for a person to look at."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "documents"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is needed to read documents back (Debian: poppler-utils, zbar-tools; .ci/run installs them)"
    return path


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page, in layout order."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(content)
        text = subprocess.run(
            [_tool("pdftotext"), "-layout", str(source), "-"], check=True, capture_output=True, text=True
        ).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def png_pages(content: bytes, name: str, *, first: int = 1, last: int = 1, dpi: int = 110) -> list[Path]:
    """Pages ``first`` to ``last`` as PNG files in test-output/documents/ (``name-N.png``)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    source = OUTPUT / f"{name}.pdf"
    source.write_bytes(content)
    for old in OUTPUT.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        [_tool("pdftoppm"), "-r", str(dpi), "-png", "-f", str(first), "-l", str(last), str(source), str(OUTPUT / name)],
        check=True,
    )
    return sorted(OUTPUT.glob(f"{name}-*.png"))


def qr_codes(content: bytes) -> list[str]:
    """What the QR codes on the first page say."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(content)
        subprocess.run(
            [_tool("pdftoppm"), "-r", "150", "-png", "-f", "1", "-l", "1", str(source), f"{folder}/page"], check=True
        )
        page = next(Path(folder).glob("page-*.png"))
        decoded = subprocess.run(
            [_tool("zbarimg"), "--quiet", "--raw", str(page)], capture_output=True, text=True, check=False
        ).stdout
    return [line for line in decoded.splitlines() if line]
