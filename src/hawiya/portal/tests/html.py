"""A small HTML reader for tests: find elements by tag and class, read attributes and text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text_parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join("".join(self.text_parts).split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text_parts.append(data)


def parse(content: bytes | str) -> list[Element]:
    collector = _Collector()
    collector.feed(content.decode() if isinstance(content, bytes) else content)
    return collector.elements


def find_all(content: bytes | str, tag: str | None = None, css_class: str | None = None) -> list[Element]:
    return [
        element
        for element in parse(content)
        if (tag is None or element.tag == tag) and (css_class is None or css_class in element.classes)
    ]


def find_one(content: bytes | str, tag: str | None = None, css_class: str | None = None) -> Element:
    found = find_all(content, tag, css_class)
    assert len(found) == 1, f"expected one <{tag or '*'} class={css_class}>, found {len(found)}"
    return found[0]
