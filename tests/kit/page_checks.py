"""What every answer must carry: ``page_problems`` lists what is wrong with its security headers
and, for a page, with its HTML (an inline script or an event-handler attribute would need
'unsafe-inline' to run)."""

from __future__ import annotations

import re

import httpx

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


TAG = re.compile(r"<[a-zA-Z][^>]*>")


EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def page_problems(response: httpx.Response) -> list[str]:
    """What is wrong with an answer's security headers, and with a page's HTML: an inline
    script or an event-handler attribute would need 'unsafe-inline' to run."""
    problems = []
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d for d in (p.strip() for p in csp.split(";")) if d}
    if "script-src" not in directives and "default-src" not in directives:
        problems.append("no script-src in the CSP")
    script_src = directives.get("script-src", directives.get("default-src", ""))
    if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"CSP allows inline script: {script_src}")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append("no frame-ancestors 'none'")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("referrer-policy") not in {"same-origin", "no-referrer", "strict-origin"}:
        problems.append(f"Referrer-Policy is {headers.get('referrer-policy')!r}")
    if headers.get("content-type", "").startswith("text/html"):
        html = response.text
        problems += [f"inline script {m.group(0)!r}" for m in INLINE_SCRIPT.finditer(html)]
        problems += [
            f"event handler in {tag.group(0)[:80]!r}"
            for tag in TAG.finditer(html)
            if EVENT_HANDLER.search(tag.group(0))
        ]
        if re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.IGNORECASE):
            problems.append("a javascript: URL")
    return problems
