"""The real OCR engine (RapidOCR, PP-OCRv6 in onnxruntime): its models come inside the wheel
(nothing is fetched, with the network cut off), it reads a slightly rotated, noisy scan, and
a blank picture gives no lines. One engine for the module (loading takes about a second)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from ingest.ocr import OcrOptions, read_page
from ingest.ocr_rapid import RapidOcrEngine
from tests.ingest.scans import FIRE, LEAVE, char_accuracy, scanned

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine() -> Iterator[RapidOcrEngine]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        yield RapidOcrEngine(threads=2)


def _no_network(*args: Any) -> None:
    raise AssertionError("the OCR engine tried to reach the network")


def test_a_rotated_noisy_scan_is_read_offline(engine: RapidOcrEngine) -> None:
    page = scanned([*LEAVE, "", *FIRE], rotate=2.5, noise=0.02, seed=7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        text = read_page(engine, page, 1, OcrOptions())
    got = "\n\n".join(e.text for e in text.elements)
    expected = f"{' '.join(LEAVE)}\n\n{' '.join(FIRE)}"
    assert len(text.elements) == 2  # the blank line parts the paragraphs
    assert char_accuracy(expected, got) >= 0.95, got
    first = text.elements[0].regions[0]
    assert first.box[1] < text.elements[1].regions[0].box[1]  # top to bottom


def test_a_page_scanned_upside_down_is_read_upright_in_order(engine: RapidOcrEngine) -> None:
    page = scanned(LEAVE[:2]).rotate(180)
    text = read_page(engine, page, 1, OcrOptions())
    got = " ".join(e.text for e in text.elements)
    assert char_accuracy(" ".join(LEAVE[:2]), got) >= 0.9, got
    first, second = text.elements[0].regions[:2]
    assert first.box[1] > second.box[1]  # the first line sits low on the page as scanned


def test_a_blank_picture_gives_no_lines(engine: RapidOcrEngine) -> None:
    assert engine.read(Image.new("L", (600, 400), 255)) == []
    assert engine.read(Image.new("RGBA", (64, 64), (0, 0, 0, 0))) == []  # transparent: white
