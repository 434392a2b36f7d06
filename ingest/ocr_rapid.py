"""The real OCR engine: RapidOCR running PaddleOCR's PP-OCRv6 models with onnxruntime.

The `rapidocr` wheel carries its detection, recognition and orientation models, so nothing is
fetched at run time (checked by tests/ingest/test_ocr_rapid.py with the network cut off).
Library types (numpy boxes, RapidOCR's output) stop here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ingest.ocr import OcrLine
from ingest.types import Box

if TYPE_CHECKING:
    from PIL.Image import Image

_INSTALL = "OCR needs the rapidocr package (pip install rapidocr==3.10.0), or DOCENT_OCR=off"


class RapidOcrEngine:
    """Every line RapidOCR finds, even unsure ones: `ingest.ocr` applies the threshold."""

    name = "rapidocr PP-OCRv6 small"

    def __init__(self, threads: int = 0) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ImportError(_INSTALL) from exc
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.text_score": 0.0,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads or -1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def read(self, image: Image) -> list[OcrLine]:
        rgb = as_rgb(image)
        found: Any = self._ocr(rgb)
        if not getattr(found, "txts", None) or getattr(found, "boxes", None) is None:
            return []
        width, height = rgb.size
        return [
            OcrLine(str(text), _box(points, width, height), float(score), _height(points, height))
            for points, text, score in zip(found.boxes, found.txts, found.scores, strict=True)
        ]


def as_rgb(image: Image) -> Image:
    """8-bit RGB on white: what the models take (transparency, 16-bit, CMYK and palettes
    converted)."""
    from PIL import Image as PILImage

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = PILImage.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _box(points: Any, width: int, height: int) -> Box:
    """The upright rectangle around a detected quadrilateral, as fractions of the image."""
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]

    def part(value: float, whole: int) -> float:
        return min(1.0, max(0.0, value / whole))

    return (
        part(min(xs), width),
        part(min(ys), height),
        part(max(xs), width),
        part(max(ys), height),
    )


def _height(points: Any, height: int) -> float:
    """The quadrilateral's left edge (top-left to bottom-left corner), as a fraction of the
    image's height: a slanted line's own height."""
    (x0, y0), (x3, y3) = (float(v) for v in points[0]), (float(v) for v in points[3])
    return float(((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5) / height
