"""Every UI string in the code and templates has a Russian translation in the catalogue."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("autowebinar_wp/**.py", "python"), ("templates/**.html", "jinja2")]


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_ui_string_is_translated_to_russian() -> None:
    with (ROOT / "autowebinar_wp/translations/ru/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="ru")
    untranslated = sorted(m for m in source_messages()
                          if m not in catalog or not catalog[m].string)
    assert untranslated == []
    assert len(source_messages()) > 60


def test_ui_renders_in_russian_by_default_and_english_on_request(make_harness) -> None:
    ru, en = make_harness(LOCALE="ru"), make_harness(LOCALE="en")
    uid = ru.backend.new_user()
    page_ru = ru.client.get(f"/embed?token={ru.token(uid)}").get_data(as_text=True)
    page_en = en.client.get(f"/embed?token={en.token(uid)}").get_data(as_text=True)
    assert "Вебинар завершён" in page_ru and 'lang="ru"' in page_ru
    assert "The webinar has ended" in page_en and 'lang="en"' in page_en
