"""Document content renders to HTML with no raw HTML and no unsafe links coming through."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.documents.content import Content, Image, Role, Step
from andon.documents.markdown_io import is_safe_url, render_html

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JavaScript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
]


def every_field(text: str) -> Content:
    return Content(
        steps=(Step(text, key_point=text, accept=(text,), images=(Image(text, "images/a.png"),)),),
        purpose=text,
        scope=f"Intro.\n\n{text}\n\n- {text}",
        roles=(Role("Operator", text),),
        hazards=(text,),
        ppe=(text,),
        references=("SOP-SAF-0001",),
    )


class LiveMarkup(HTMLParser):
    """The tags and attributes a browser would act on, as parsed from the rendered HTML."""

    def __init__(self, rendered: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.feed(rendered)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def assert_inert(rendered: str) -> None:
    markup = LiveMarkup(rendered)
    assert not {"script", "svg", "iframe", "object", "embed"} & set(markup.tags)
    assert [name for name, _ in markup.attributes if name.startswith("on")] == []
    addresses = [value for name, value in markup.attributes if name in ("href", "src")]
    assert [a for a in addresses if not is_safe_url(a)] == []
    # <img> only where a step names an image file, never from text.
    assert markup.tags.count("img") == sum(1 for a in addresses if a == "images/a.png")


@pytest.mark.parametrize("attack", ATTACKS)
def test_raw_html_and_unsafe_links_never_come_through(attack: str) -> None:
    rendered = render_html(every_field(attack))

    assert_inert(rendered)


def test_raw_html_is_shown_as_text() -> None:
    rendered = render_html(Content(steps=(Step("<script>alert(1)</script>"),)))

    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in rendered


def test_onerror_attribute_stays_escaped_text() -> None:
    rendered = render_html(Content(steps=(Step('<img src=x onerror="alert(1)">'),)))

    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in rendered
    assert "<img" not in rendered


def test_javascript_link_loses_its_address() -> None:
    rendered = render_html(Content(steps=(Step("[click](javascript:alert(1))"),)))

    assert "javascript:" not in rendered.replace("[click](javascript:alert(1))", "")
    assert "<a " not in rendered


def test_safe_links_and_relative_images_are_kept() -> None:
    step = Step(
        "See [the manual](https://example.com/ph-200.pdf) or [mail us](mailto:qa@example.com).",
        images=(Image("Star pattern", "images/star.png"), Image("Bad", "javascript:alert(1)")),
    )

    rendered = render_html(Content(steps=(step,)))

    assert '<a href="https://example.com/ph-200.pdf">the manual</a>' in rendered
    assert '<a href="mailto:qa@example.com">mail us</a>' in rendered
    assert '<img src="images/star.png" alt="Star pattern">' in rendered
    assert "<figure>Bad</figure>" in rendered


def test_image_with_quote_in_alt_text_cannot_break_out_of_the_attribute() -> None:
    image = Image('x" onerror="alert(1)', "images/a.png")

    rendered = render_html(Content(steps=(Step("Look.", images=(image,)),)))

    assert 'alt="x&quot; onerror=&quot;alert(1)"' in rendered


def test_sections_render_in_document_order_with_their_markup() -> None:
    content = Content(
        steps=(Step("Fit the **cover**.", key_point="Gasket first.", critical="safety"),),
        purpose="Why we do it.",
        hazards=("Pinch points",),
        ppe=("Gloves",),
        references=("WI-ASM-0007",),
    )

    rendered = render_html(content)

    order = [rendered.index(f'class="doc-{key}"') for key in ("purpose", "hazards", "steps")]
    assert order == sorted(order)
    assert "<p>Fit the <strong>cover</strong>.</p>" in rendered
    assert '<li class="doc-step-critical-safety">' in rendered
    assert '<p class="doc-key-point"><strong>Key point:</strong> Gasket first.</p>' in rendered
    assert '<h3>Required PPE</h3>\n<ul class="doc-ppe"><li>Gloves</li></ul>' in rendered
    assert '<ul class="doc-references"><li>WI-ASM-0007</li></ul>' in rendered


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("images/a.png", True),
        ("/documents/SOP-ASM-0001", True),
        ("https://example.com/a", True),
        ("HTTP://example.com/a", True),
        ("mailto:qa@example.com", True),
        ("#step-3", True),
        ("?page=2", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("file:///etc/passwd", False),
        ("vbscript:x", False),
    ],
)
def test_only_relative_and_http_mailto_addresses_are_safe(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<>\"'=:/()[]!&#;ajvscriptonerrorimgsvghref \n\t-*`", max_size=60))
def test_no_text_yields_a_live_tag_or_unsafe_address(text: str) -> None:
    assert_inert(render_html(every_field(text)))
