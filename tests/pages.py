"""Reading pages in tests: the CSRF token of a form, the flash messages."""

from __future__ import annotations

import re


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*">(.*?)</p>', html, re.S)
