"""What the player plays: the video sources (progressive or HLS) and the caption tracks.

Pure functions over configuration values; the viewer's page and the CSP are built from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError

HLS_TYPE = "application/vnd.apple.mpegurl"
_TYPES = {"webm": "video/webm", "mp4": "video/mp4", "m4v": "video/mp4", "mov": "video/quicktime",
          "ogv": "video/ogg", "m3u8": HLS_TYPE}
_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")
CAPTION_KINDS = ("captions", "subtitles")
MAX_CAPTIONS = 20
MAX_LABEL = 64


@dataclass(frozen=True)
class Source:
    src: str
    type: str

    @property
    def is_hls(self) -> bool:
        return self.type == HLS_TYPE


@dataclass(frozen=True)
class Caption:
    """One WebVTT file: its BCP 47 language, the label the viewer sees, and where it is."""

    lang: str
    label: str
    url: str
    kind: str = "captions"


def source(url: str) -> Source:
    ext = urlsplit(url).path.rsplit(".", 1)[-1].lower()
    return Source(url, _TYPES.get(ext, ""))


def sources(urls: Iterable[str]) -> list[Source]:
    return [source(url) for url in urls]


def origin(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute URL; None for a path on this service."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def origins(urls: Iterable[str]) -> list[str]:
    return sorted({o for o in map(origin, urls) if o})


def language_name(lang: str) -> str:
    """The language's own name ("Русский", "English"), or the tag when Babel does not know it."""
    try:
        name = Locale.parse(lang.replace("-", "_")).get_display_name()
    except (UnknownLocaleError, ValueError):
        return lang
    return (name[:1].upper() + name[1:]) if name else lang


def _is_url(value: str) -> bool:
    if value.startswith("/") and not value.startswith("//"):
        return True
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def parse_captions(value: Any) -> tuple[list[Caption] | None, list[str]]:
    """CAPTIONS from TOML/JSON/env into Captions, and every problem found.

    Accepts `{lang: {"url": ..., "label": ..., "kind": ...}}` or `{lang: url}`. Unset or
    empty gives None: "the demo's captions with the demo video, none with any other video".
    """
    if value is None or value == "" or value == {}:
        return None, []
    if not isinstance(value, Mapping):
        return [], ["CAPTIONS must be a table of languages, e.g. "
                    '{"ru": {"label": "Русский", "url": "/captions/ru.vtt"}}']
    if len(value) > MAX_CAPTIONS:
        return [], [f"CAPTIONS may list at most {MAX_CAPTIONS} languages"]
    captions: list[Caption] = []
    problems: list[str] = []
    for lang, spec in value.items():
        where = f"CAPTIONS[{lang!r}]"
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            problems.append(f"{where}: the key must be a language tag such as ru, en or pt-BR")
            continue
        if isinstance(spec, str):
            spec = {"url": spec}
        if not isinstance(spec, Mapping):
            problems.append(f"{where} must be a table with url (and optionally label, kind)")
            continue
        unknown = set(spec) - {"url", "label", "kind"}
        if unknown:
            problems.append(f"{where} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        url = spec.get("url")
        if not isinstance(url, str) or not _is_url(url.strip()):
            problems.append(f"{where}.url must be an http(s) URL or a path: {url!r}")
            continue
        label = spec.get("label") or language_name(lang)
        if not isinstance(label, str) or len(label) > MAX_LABEL or not label.strip():
            problems.append(f"{where}.label must be text of at most {MAX_LABEL} characters")
            continue
        kind = spec.get("kind", "captions")
        if kind not in CAPTION_KINDS:
            problems.append(f"{where}.kind must be one of {', '.join(CAPTION_KINDS)}")
            continue
        captions.append(Caption(lang, label.strip(), url.strip(), kind))
    return captions, problems


def default_caption(captions: list[Caption], locale: str) -> str | None:
    """The language shown at start: the viewer's locale (exact, then by primary language)."""
    for caption in captions:
        if caption.lang.lower() == locale.lower():
            return caption.lang
    primary = locale.split("-")[0].split("_")[0].lower()
    for caption in captions:
        if caption.lang.split("-")[0].lower() == primary:
            return caption.lang
    return None


def needs_cors(captions: Iterable[Caption]) -> bool:
    """Tracks from another origin load only in CORS mode (`crossorigin` on the <video>)."""
    return any(origin(c.url) for c in captions)


def content_security(video_urls: list[str], caption_urls: list[str]) -> tuple[str, str]:
    """The CSP's media-src and connect-src source lists for these videos and captions.

    <track> files count as media; hls.js fetches playlists and segments with fetch/XHR, so an
    HLS source's origin is also a connect-src.
    """
    media = " ".join(["'self'", *origins([*video_urls, *caption_urls]), "blob:"])
    hls = [url for url in video_urls if source(url).is_hls]
    connect = " ".join(["'self'", *origins(hls)])
    return media, connect
