"""Reading staff pages as a person sees them: ``Page`` (form field values, checked boxes, field
errors, links, visible text), and ``english`` (a client that reads the pages in English)."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx


class Page(HTMLParser):
    """What a person sees of a form page: field values, field errors, links, visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.checked: set[str] = set()
        self.errors: dict[str, str] = {}
        self.links: list[str] = []
        self.text_parts: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "input" and "name" in a:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.checked.add(a["name"])
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""
        elif tag == "p" and "field-error" in a.get("class", ""):
            self._error = a.get("id", "").removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._error = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._textarea:
            self.values[self._textarea] += data
        if self._error is not None:
            self.errors[self._error] += data.strip()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


def english(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set("lang", "en")
    return client
