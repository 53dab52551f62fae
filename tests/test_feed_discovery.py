"""Feed discovery: every public page that lists feeds advertises each one in its <head> as
``<link rel="alternate" type=... href=... title=...>``, and every advertised address answers 200
with the media type it was advertised with."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

ATOM = "application/atom+xml"
ICAL = "text/calendar"
GEOJSON = "application/geo+json"
CAP = "application/cap+xml"


class HeadLinks(HTMLParser):
    """The ``<link rel="alternate">`` elements of a page's <head>, as attribute dicts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self._in_head = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self._in_head = True
        elif tag == "link" and self._in_head:
            a = {k: v or "" for k, v in attrs}
            if a.get("rel") == "alternate":
                self.links.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


async def advertised(client: httpx.AsyncClient, url: str) -> list[dict[str, str]]:
    response = await client.get(url)
    assert response.status_code == 200, url
    links = HeadLinks(response.text).links
    assert all(link["title"] and link["href"] and link["type"] for link in links), links
    return links


def pages(story) -> dict[str, set[tuple[str, str]]]:
    """Each page and the feeds (media type, address without the query) it must advertise."""
    everywhere = {
        (ATOM, "/feeds/notices.atom"),
        (ICAL, "/feeds/closures.ics"),
        (GEOJSON, "/feeds/closures.geojson"),
        (GEOJSON, "/feeds/closures.wzdx.geojson"),
    }
    site = {(ATOM, f"/feeds/sites/{story.site.id}.atom")}
    bridge = {(ATOM, f"/feeds/facilities/{story.bridge.id}.atom")}
    return {
        "/": everywhere,
        "/notices": everywhere,
        f"/notices/sites/{story.site.id}": everywhere | site,
        f"/facilities/{story.bridge.id}": everywhere | site | bridge,
        f"/notices/{story.closure.id}": everywhere
        | site
        | bridge
        | {(CAP, f"/feeds/cap/{story.closure.id}.xml")},
    }


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_every_page_advertises_each_feed_it_lists_and_each_answers_in_its_type(
    anon, story, lang
):
    anon.cookies.set("lang", lang)
    for url, expected in pages(story).items():
        links = await advertised(anon, url)
        found = {(link["type"], link["href"].split("?")[0]) for link in links}
        assert found == expected, url
        for link in links:
            feed = await anon.get(link["href"])
            assert feed.status_code == 200, link
            assert media_type(feed) == link["type"], link


async def test_english_readers_are_offered_the_english_feeds(anon, story):
    anon.cookies.set("lang", "en")

    links = await advertised(anon, "/")

    localized = [
        link
        for link in links
        if link["type"] in (ATOM, ICAL) or link["href"].startswith("/feeds/closures.wzdx")
    ]
    assert localized and all(link["href"].endswith("?lang=en") for link in localized)


async def test_a_notice_that_is_not_urgent_offers_no_cap_alert(anon, story):
    links = await advertised(anon, f"/notices/{story.planned.id}")

    assert CAP not in {link["type"] for link in links}
    assert GEOJSON in {link["type"] for link in links}
