"""Decoding uploaded images strictly.

WeasyPrint sets Pillow's process-wide `ImageFile.LOAD_TRUNCATED_IMAGES = True` when it is
imported (weasyprint/images.py), so in any process that renders a PDF a truncated upload would
decode "successfully" with grey where the data is missing. Photo checks decode inside
`strict_decoding()`, which turns the flag off for that moment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import ImageFile

_lock = threading.Lock()


@contextmanager
def strict_decoding() -> Iterator[None]:
    """Within the block, Pillow refuses truncated image data (OSError "image file is truncated")."""
    with _lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
