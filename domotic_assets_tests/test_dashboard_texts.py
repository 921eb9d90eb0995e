"""The dashboards' languages, without a server: every catalogue complete (no message missing, empty or
fuzzy), counts in each language's plural forms (Romanian's three), amounts in CHF as each language writes
them, every visible string of the templates marked for translation, the reader's language from the picker
or the browser, and the views a URL asks for."""

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from domotic_assets.dashboards import languages, pages
from domotic_assets.dashboards.views import view_of

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "domotic_assets" / "dashboards"
SAME_WORDS = {"ro": {"Cost (CHF)"}, "fr": {"Charge (kW)"}}
"""Messages spelled the same in a language as in English (the brand name aside)."""


def marked_messages() -> set[str]:
    """Every message marked in the dashboards' code and templates, extracted as `make messages` does."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    return {message for _, _, message, *_ in extract_from_dir(str(DASHBOARDS), method_map)}


@pytest.mark.parametrize("language", [code for code in languages.LANGUAGES if code != languages.DEFAULT])
def test_each_catalogue_translates_every_marked_message(language):
    with languages.catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    marked = marked_messages()
    assert len(marked) > 30
    missing = sorted(m for m in marked if m not in catalogue)
    assert not missing, f"{language}: untranslated {missing} (run `make messages`, then translate)"
    for message in catalogue:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{language}: empty translation of {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy translation of {message.id!r}"
    # the translations are the language's own, not English left in place
    same = {m.id for m in catalogue if m.id and m.string == m.id and re.search("[a-z]{3}", m.id)}
    assert same <= {"Domotic"} | SAME_WORDS.get(language, set()), f"{language}: left in English: {same}"


DAYS = {
    "en": {1: "1 day", 2: "2 days", 20: "20 days", 101: "101 days"},
    "fr": {0: "0 jour", 1: "1 jour", 2: "2 jours", 20: "20 jours", 1000000: "1000000 de jours"},
    "es": {1: "1 día", 2: "2 días", 20: "20 días", 1000000: "1000000 de días"},
    "ro": {1: "1 zi", 2: "2 zile", 19: "19 zile", 20: "20 de zile", 101: "101 zile", 120: "120 de zile"},
    "pt_PT": {1: "1 dia", 2: "2 dias", 20: "20 dias"},
}


@pytest.mark.parametrize("language", list(languages.LANGUAGES))
def test_counts_take_the_plural_form_cldr_gives_the_language(language):
    """Romanian has three forms ("1 zi", "2 zile", "20 de zile"); French counts 0 as one."""
    if language != languages.DEFAULT:
        with languages.catalogue_path(language).open("rb") as po:
            catalogue = read_po(po, locale=language)
        assert catalogue.plural_forms == Catalog(locale=language).plural_forms, (
            "the catalogue's rule is CLDR's"
        )
    ngettext = languages.translations(language).ngettext
    for n, text in DAYS[language].items():
        assert ngettext("%(num)d day", "%(num)d days", n) % {"num": n} == text


@pytest.mark.parametrize(
    ("language", "amount"),
    [
        ("en", "CHF\u00a012.50"),
        ("fr", "12,50\u00a0CHF"),
        ("ro", "12,50\u00a0CHF"),
        ("pt_PT", "12,50\u00a0CHF"),
    ],
)
def test_an_amount_in_chf_is_written_as_the_language_writes_it(language, amount):
    before, after = pages.currency_affixes(language)
    assert before + format_decimal(12.5, "0.00", locale=language) + after == amount


class _Text(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, and the attributes read aloud."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self.seen += [v for k, v in attrs if k in ("aria-label", "title", "placeholder", "alt") and v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.seen.append(data.strip())


def test_every_string_a_template_shows_is_marked_for_translation():
    """Each template is rendered with a catalogue that wraps every message in ⟦ ⟧ and data without letters:
    whatever text with a letter is then outside the brackets was written in the template unmarked."""

    class Brackets:
        def gettext(self, message):
            return f"⟦{message}⟧"

        def ngettext(self, singular, plural, n):
            return f"⟦{singular if n == 1 else plural}⟧"

    env = pages.templates.__wrapped__("en")
    env.install_gettext_translations(Brackets(), newstyle=True)
    flat = {"code": "101", "name": "101", "key": 1, "timezone": "UTC", "rooms": [{"room": 1, "name": "7"}]}
    flat["devices"] = [{"device": 2, "name": "8", "kind": "9", "room": 1}]
    view = view_of({}, date(2024, 1, 10), None)
    context = {
        "html_lang": "en",
        "language": "en",
        "languages": [(code, str(n)) for n, code in enumerate(languages.LANGUAGES)],
        "pages": [("/energy", "⟦1⟧")],
        "here": "/energy",
        "signed_in": True,
        "csrf": "0",
        "current": "/energy",
        "keep_query": "",
        "next": "/",
        "error": "⟦2⟧",
        "login": "3",
        "title": "⟦4⟧",
        "message": "⟦5⟧",
        "heading": "⟦6⟧",
        "apartments": [flat],
        "apartment": flat,
        "view": view,
        "with_rooms": True,
        "with_devices": True,
        "presets": [("today", "⟦7⟧")],
        "period_text": "1.1.2024",
        "period_days": 3,
        "echarts_locale": "EN",
        "config": {"texts": {key: f"⟦{key}⟧" for key in pages.CHART_TEXTS}},
    }
    templates = sorted(p.name for p in (DASHBOARDS / "templates").glob("*.html"))
    assert {"base.html", "login.html", "energy.html"} <= set(templates)
    for name in templates:
        for shared in ("all", "some", "none"):  # every branch of the presence page
            parser = _Text()
            parser.feed(env.get_template(name).render(context | {"presence_shared": shared}))
            loose = [
                text
                for text in parser.seen
                if re.search(r"[^\W\d_]", re.sub(r"⟦[^⟧]*⟧", "", text), re.UNICODE)
            ]
            assert not loose, f"{name}: text not marked for translation: {loose}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH,fr;q=0.9,en;q=0.8", "fr"),
        ("de-CH,de;q=0.9,ro;q=0.5", "ro"),
        ("pt-BR", "pt_PT"),
        ("pt-PT,pt;q=0.9", "pt_PT"),
        ("es-ES;q=0.2, en;q=0.7", "en"),
        ("de, it", None),
        ("*", None),
        ("", None),
        ("x;q=abc, es", "es"),
    ],
)
def test_the_browsers_languages_choose_ours_by_weight(header, expected):
    assert languages.from_accept_language(header) == expected


def test_the_picked_language_comes_before_the_browsers():
    assert languages.language_for("ro", "fr") == "ro"
    assert languages.language_for("xx", "fr") == "fr"
    assert languages.language_for(None, "de") == "en"


def test_a_view_keeps_its_state_in_the_url():
    today = date(2024, 3, 14)  # a Thursday
    week = view_of({"range": "week", "apartment": "jimmy"}, today, None)
    assert (week.first, week.last) == (date(2024, 3, 11), today)
    month = view_of({"range": "month"}, today, None)
    assert (month.first, month.last) == (date(2024, 3, 1), today)
    custom = view_of({"from": "2023-10-01", "to": "2023-10-07", "room": "12"}, today, None)
    assert (custom.range, custom.first, custom.last, custom.room) == (
        None,
        date(2023, 10, 1),
        date(2023, 10, 7),
        12,
    )
    assert custom.query() == "?room=12&from=2023-10-01&to=2023-10-07"
    assert week.query(room=None) == "?apartment=jimmy&range=week"
    # what a URL says wrongly takes the default: the last 7 days up to the last reading
    for wrong in (
        {"from": "2023-10-07", "to": "2023-10-01"},
        {"from": "x"},
        {"range": "decade"},
        {"room": "-1"},
    ):
        fallback = view_of(wrong, today, date(2023, 10, 26))
        assert (fallback.first, fallback.last) == (date(2023, 10, 20), date(2023, 10, 26)), wrong


def test_a_redirect_after_sign_in_never_leaves_the_site():
    assert pages.local_path("/energy?apartment=jimmy") == "/energy?apartment=jimmy"
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "energy", None, ""):
        assert pages.local_path(outside) == "/energy"
