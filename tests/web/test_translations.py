"""Every text of the pages is in the Indonesian catalogue: the templates' texts (read as
makemessages reads them) and the menus'."""

import ast
import re
from pathlib import Path

from django.utils import translation
from django.utils.translation.template import templatize

from tests.config.test_translations import CATALOGUE, po_entries
from web.nav import MENUS

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
CALL = re.compile(r"""\b(?:n?p?gettext)\((u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"))""")


def template_texts() -> dict[str, set[str]]:
    """msgid -> the templates that use it."""
    texts: dict[str, set[str]] = {}
    for template in sorted(TEMPLATES.rglob("*.html")):
        code = templatize(template.read_text(), origin=str(template))
        for literal in CALL.findall(code):
            texts.setdefault(ast.literal_eval(literal), set()).add(str(template.relative_to(TEMPLATES)))
    return texts


def plural_entries() -> dict[str, str]:
    """msgid -> its first Indonesian form, for the plural entries (Indonesian has one)."""
    text = CATALOGUE.read_text()
    return {
        ast.literal_eval(msgid): ast.literal_eval(form)
        for msgid, form in re.findall(r'^msgid (".*")\nmsgid_plural ".*"\nmsgstr\[0\] (".*")$', text, flags=re.M)
    }


def test_every_template_text_has_an_indonesian_translation() -> None:
    catalogue = {**po_entries(), **plural_entries()}
    texts = template_texts()
    assert len(texts) >= 40
    missing = {text: sorted(where) for text, where in texts.items() if not catalogue.get(text)}
    assert not missing, f"not in locale/id/LC_MESSAGES/django.po: {missing}"


def test_every_menu_label_has_an_indonesian_translation() -> None:
    catalogue = po_entries()
    with translation.override("en"):  # the msgids themselves
        labels = [str(label) for menu in MENUS.values() for _name, label in menu]
    assert [label for label in labels if not catalogue.get(label)] == []
