"""media.py: sources, caption settings, the viewer's caption language, the CSP's media origins."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autowebinar_wp.media import (
    HLS_TYPE,
    Caption,
    content_security,
    default_caption,
    language_name,
    needs_cors,
    parse_captions,
    source,
)


@pytest.mark.parametrize(("url", "kind"), [
    ("/static/demo/demo.webm", "video/webm"),
    ("https://cdn.example/talk.MP4", "video/mp4"),
    ("https://cdn.example/hls/index.m3u8?token=a.b&exp=1", HLS_TYPE),
    ("https://cdn.example/play?file=x.m3u8", ""),  # the query is not the file name
    ("https://cdn.example/stream", ""),
])
def test_the_source_type_comes_from_the_paths_extension(url, kind) -> None:
    assert source(url).type == kind
    assert source(url).is_hls is (kind == HLS_TYPE)


def test_captions_from_a_table_with_labels_defaulting_to_the_languages_own_name() -> None:
    captions, problems = parse_captions({
        "ru": {"url": "/captions/ru.vtt"},
        "en": {"url": "https://subs.example/en.vtt", "label": "English (CC)"},
        "pt-BR": "https://subs.example/pt.vtt",
        "de": {"url": "/de.vtt", "kind": "subtitles"},
    })
    assert problems == []
    assert captions == [
        Caption("ru", "Русский", "/captions/ru.vtt"),
        Caption("en", "English (CC)", "https://subs.example/en.vtt"),
        Caption("pt-BR", "Português (Brasil)", "https://subs.example/pt.vtt"),
        Caption("de", "Deutsch", "/de.vtt", "subtitles"),
    ]


def test_unset_captions_stay_unset() -> None:
    assert parse_captions(None) == (None, [])
    assert parse_captions("") == (None, [])
    assert parse_captions({}) == (None, [])


@pytest.mark.parametrize(("value", "problem"), [
    ("ru=/x.vtt", "must be a table of languages"),
    ({"russian language": "/x.vtt"}, "must be a language tag"),
    ({"ru": {"label": "Русский"}}, "url must be an http(s) URL or a path"),
    ({"ru": "javascript:alert(1)"}, "url must be an http(s) URL or a path"),
    ({"ru": "//cdn.example/x.vtt"}, "url must be an http(s) URL or a path"),
    ({"ru": {"url": "/x.vtt", "label": "x" * 65}}, "label must be text"),
    ({"ru": {"url": "/x.vtt", "kind": "chapters"}}, "kind must be one of"),
    ({"ru": {"url": "/x.vtt", "lang": "ru"}}, "unknown fields: lang"),
    ({"ru": 5}, "must be a table with url"),
    ({f"l{i:02d}"[:3]: "/x.vtt" for i in range(21)}, "at most 20"),
])
def test_bad_caption_settings_are_reported(value, problem) -> None:
    _captions, problems = parse_captions(value)
    assert any(problem in p for p in problems), problems


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_any_configured_value_parses_or_is_reported_never_raises(value) -> None:
    captions, problems = parse_captions(value)
    assert captions is None or all(isinstance(c, Caption) for c in captions)
    assert all(isinstance(p, str) for p in problems)


@pytest.mark.parametrize(("locale", "expected"), [
    ("ru", "ru"), ("en", "en"), ("en_GB", "en"), ("pt", "pt-BR"), ("de", None),
])
def test_the_viewers_locale_chooses_the_caption_language(locale, expected) -> None:
    captions = [Caption("en", "English", "/en.vtt"), Caption("ru", "Русский", "/ru.vtt"),
                Caption("pt-BR", "Português", "/pt.vtt")]
    assert default_caption(captions, locale) == expected


def test_language_names_fall_back_to_the_tag() -> None:
    assert language_name("en") == "English"
    assert language_name("qq") == "qq"


def test_the_csp_allows_exactly_the_configured_hosts() -> None:
    media, connect = content_security(
        ["https://cdn.example/a/index.m3u8", "https://files.example/a.mp4", "/local.webm"],
        ["https://subs.example/en.vtt", "/ru.vtt"])
    assert media == ("'self' https://cdn.example https://files.example https://subs.example "
                     "blob:")
    assert connect == "'self' https://cdn.example"  # only HLS is fetched by script
    assert content_security([], []) == ("'self' blob:", "'self'")


def test_cors_is_needed_only_for_captions_from_another_origin() -> None:
    assert not needs_cors([Caption("en", "English", "/en.vtt")])
    assert needs_cors([Caption("en", "English", "https://subs.example/en.vtt")])
