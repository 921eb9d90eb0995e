"""The dashboards' languages: which one a request gets, and the gettext catalogues of each, through Babel.

A request's language is the one the reader picked (a cookie, set by the language picker), else the best of
the browser's `Accept-Language` among ours, else English. It is never in a dashboard's URL, so a shared
link opens in the receiver's own language. Catalogues are `locale/<lang>/LC_MESSAGES/messages.po`, compiled
in memory when first used (no binary file in the repository); a fuzzy message counts as untranslated."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"en": "English", "fr": "Français", "es": "Español", "ro": "Română", "pt_PT": "Português"}
"""Our languages, each named in itself (the picker shows them so)."""
DEFAULT = "en"
COOKIE = "domotic_lang"
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for an `Accept-Language` header (weights honoured; a language without its
    region matches ours, `pt-BR` included, since Portuguese is only ours in Portugal's form)."""
    asked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            asked.append((-weight, position, tag))
    for _, _, tag in sorted(asked):
        try:
            wanted = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        exact = str(wanted)
        if exact in LANGUAGES:
            return exact
        same = [ours for ours in LANGUAGES if ours.split("_")[0] == wanted.language]
        if same:
            return same[0]
    return None


def language_for(picked: str | None, accept_language: str | None) -> str:
    if picked in LANGUAGES:
        return picked
    return from_accept_language(accept_language) or DEFAULT


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalogue, compiled in memory (English: the messages as written)."""
    if language == DEFAULT:
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def html_lang(language: str) -> str:
    """The BCP 47 tag of a language (`pt-PT`), for `<html lang>`."""
    return language.replace("_", "-")
