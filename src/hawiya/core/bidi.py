"""Bidirectional-text controls that can spoof what an officer reads (issue 10 §2).

The embedding and override controls U+202A–U+202E and the isolates U+2066–U+2069 reorder the
characters after them: typed into a name or a free-text answer they can make "ABC" display as
"CBA", or push a following field's value into a sentence. They are removed at input, once, in the
form base (every CharField of every form) and on the API's free-text fields; what citizens wrote
is shown to officers inside an isolating element (`<bdi>` or `dir="auto"`) as well.

Marks that do not reorder (U+200E LEFT-TO-RIGHT MARK, U+200F, U+061C ARABIC LETTER MARK) are kept:
they are legitimate in Arabic text.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def strip_bidi_controls(value: str) -> str:
    """`value` without bidi embedding, override or isolate controls."""
    return _CONTROLS.sub("", value)
