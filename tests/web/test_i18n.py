"""The pages' languages: no text of ours hard-coded in a template, a French catalogue
that covers every string and keeps its placeholders, and the choice of language per
request (browser, switch, account) on a real server."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from partage.errors import BadRequest, InvalidName, Term
from partage.web import i18n
from partage.web.i18n import N_
from partage.web.templating import TEMPLATES
from tests.conftest import Account
from tests.serverproc import Server

ROOT = Path(__file__).resolve().parents[2]
FR = ROOT / "src/partage/web/locale/fr/LC_MESSAGES/messages.po"

TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
TEXT_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "aria-description"}
NOT_WORDS = {"partage"}


class _Texts(HTMLParser):
    """Text nodes and text attributes left in a template once Jinja is taken out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.in_code += 1
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value and _words(value):
                self.found.append((self.getpos()[0], f"<{tag} {name}={value!r}>"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.in_code -= 1

    def handle_data(self, data: str) -> None:
        if not self.in_code and _words(data):
            self.found.append((self.getpos()[0], repr(data.strip()[:60])))


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w not in NOT_WORDS]


def hard_coded(source: str) -> list[tuple[int, str]]:
    # Each Jinja construct becomes one letterless character, so a tag split by an
    # expression still parses and translated text ({{ _() }}, {% trans %}) disappears.
    source = TRANS.sub("_", source)
    source = JINJA.sub(lambda m: "" if m.group(0).startswith("{#") else "_", source)
    parser = _Texts()
    parser.feed(source)
    return parser.found


def test_the_check_finds_hard_coded_text() -> None:
    found = hard_coded('<p>{{ _("Fine") }}</p><p title="Not fine">{{ name }} files</p>')
    assert [what for _, what in found] == ["<p title='Not fine'>", "'_ files'"]
    assert hard_coded('{% trans %}All {{ n }} fine{% endtrans %}<b aria-hidden="true">→</b>') == []


def test_no_template_hard_codes_text() -> None:
    problems = [
        f"{path.name}:{line}: {what}"
        for path in sorted(TEMPLATES.glob("*.html"))
        for line, what in hard_coded(path.read_text())
    ]
    assert problems == [], "text outside gettext:\n" + "\n".join(problems)


def _extracted() -> set[str]:
    method_map = [
        ("src/partage/**.py", "python"),
        ("src/partage/web/templates/**.html", "jinja2"),
    ]
    options = {"src/partage/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = i18n.EXTRACT_KEYWORDS
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords, comment_tags=()
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_french_catalogue_covers_every_string_and_keeps_placeholders() -> None:
    with FR.open("rb") as f:
        catalogue = read_po(f, locale="fr")
    missing = sorted(
        m for m in _extracted() if not (entry := catalogue.get(m)) or not _translated(entry)
    )
    assert missing == [], f"{len(missing)} strings lack a French translation " + (
        "(run scripts/update-catalogues, then translate):\n" + "\n".join(missing[:40])
    )
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalogue.check()]
    assert errors == []
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert fuzzy == []


def _translated(entry: object) -> bool:
    string = getattr(entry, "string", "")
    return bool(string) if isinstance(string, str) else all(string)


def test_language_negotiation() -> None:
    assert i18n.from_accept_language("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.from_accept_language("de-DE,en;q=0.5,fr;q=0.7") == "fr"
    assert i18n.from_accept_language("en-GB,fr;q=0.3") == "en"
    assert i18n.from_accept_language("de, *;q=0.1") is None
    assert i18n.from_accept_language("fr;q=0") is None
    assert i18n.choose(None, None, "de") == "en"
    assert i18n.choose("en", "fr", "fr") == "en"  # the switch wins over the account
    assert i18n.choose(None, "fr", "en") == "fr"  # the account over the browser
    assert i18n.choose("xx", None, "fr-FR") == "fr"  # an unknown cookie is ignored


def test_pages_follow_the_browser_then_the_switch(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        fr = c.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
        assert fr.status_code == 200
        assert '<html lang="fr">' in fr.text and "Se connecter" in fr.text
        assert fr.headers["content-language"] == "fr"
        assert "accept-language" in fr.headers["vary"].lower()

        en = c.get("/login", headers={"Accept-Language": "en"})
        assert '<html lang="en">' in en.text and "Se connecter" not in en.text

        r = c.post("/language", data={"lang": "fr", "next": "/login?x=1"})
        assert r.status_code == 303 and r.headers["location"] == "/login?x=1"
        assert c.cookies.get(i18n.COOKIE) == "fr"
        kept = c.get("/login", headers={"Accept-Language": "en"})
        assert '<html lang="fr">' in kept.text

        bad = c.post("/language", data={"lang": "xx"}, headers={"Accept": "application/json"})
        assert bad.status_code == 400 and "xx" in bad.json()["message"]
        away = c.post("/language", data={"lang": "en", "next": "https://evil.example/"})
        assert away.status_code == 303 and away.headers["location"] == "/"
        other_site = c.post(
            "/language", data={"lang": "en"}, headers={"Origin": "https://evil.example"}
        )
        assert other_site.status_code == 403


def test_an_error_with_values_is_shown_in_french_but_the_api_keeps_english(
    server: Server, account_factory: Callable[..., Account]
) -> None:
    page_headers = {"Accept": "text/html", "Accept-Language": "fr"}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        page = c.post("/language", data={"lang": "xx"}, headers=page_headers)
    assert page.status_code == 400 and '<html lang="fr">' in page.text
    assert "Langue inconnue &#39;xx&#39;\u00a0: choisissez parmi en, fr." in page.text
    assert "Unknown language" not in page.text

    acc = account_factory()
    api = acc.client.get("/api/v1/files/nOpE42", headers={"Accept-Language": "fr"})
    assert api.status_code == 404
    assert api.json()["message"] == "No file with code 'nOpE42' in your account."


def test_error_text_translates_terms_and_falls_back_to_english() -> None:
    err = InvalidName("The %(what)s is empty.", what=Term(N_("folder name")))
    assert err.message == "The folder name is empty."
    with i18n.using("fr"):
        assert i18n.error_text(err) == "Le nom de dossier est vide."
        # A translation whose placeholders do not fit the values: the English message.
        odd = BadRequest("No folder %(path)s.", path="'a'")
        odd.params = {"other": "x"}
        assert i18n.error_text(odd) == "No folder 'a'."
    with i18n.using("en"):
        assert i18n.error_text(err) == err.message
