"""The page templates carry no inline script, so the Content-Security-Policy can forbid it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from andon.web.templating import TEMPLATES_DIR

TEMPLATES = sorted(TEMPLATES_DIR.rglob("*.html"))
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
_INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*?\sstyle\s*=", re.IGNORECASE | re.DOTALL)
_JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def inline_script_problems(source: str) -> list[str]:
    """What in one template the policy ``script-src 'self'; style-src 'self'`` would block."""
    problems = [
        f"inline <script>: {tag}" for tag in _SCRIPT_TAG.findall(source) if "src=" not in tag
    ]
    problems += [f"event handler: {m.group(0)[-40:]}" for m in _EVENT_HANDLER.finditer(source)]
    problems += [f"inline style: {m.group(0)[-40:]}" for m in _INLINE_STYLE.finditer(source)]
    problems += [f"javascript: URL: {m.group(0)}" for m in _JS_URL.finditer(source)]
    return problems


def test_the_templates_are_found() -> None:
    assert len(TEMPLATES) > 20
    assert Path(TEMPLATES_DIR, "layout.html") in TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES_DIR)))
def test_template_has_no_inline_script_or_style(template: Path) -> None:
    assert inline_script_problems(template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<SCRIPT type="module">x()</SCRIPT>', "inline <script>"),
        ('<button type="button" onclick="go()">Go</button>', "event handler"),
        ('<body\n  onload="x()">', "event handler"),
        ('<p style="color: red">', "inline style"),
        ("<style>p { color: red }</style>", "inline style"),
        ('<a href="javascript:void(0)">', "javascript: URL"),
    ],
)
def test_the_scan_finds_inline_script_and_style(source: str, found: str) -> None:
    problems = inline_script_problems(source)
    assert len(problems) == 1
    assert problems[0].startswith(found)


def test_the_scan_passes_external_scripts_and_ordinary_attributes() -> None:
    source = (
        '<script src="/static/vendor/htmx.min.js" defer></script>'
        '<form method="post" action="/x" class="card"><p>Description: one=1</p></form>'
    )
    assert inline_script_problems(source) == []
