import ast
import re
from pathlib import Path

from django.utils import translation
from rest_framework.test import APIClient

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "id" / "LC_MESSAGES" / "django.po"


def po_entries() -> dict[str, str]:
    """msgid -> msgstr from the .po file (plain entries, as this project writes them)."""
    entries = {}
    for block in CATALOGUE.read_text().split("\n\n"):
        match = re.search(r'^msgid (".*?)^msgstr (".*)', block, flags=re.S | re.M)
        if not match:
            continue
        msgid, msgstr = (
            "".join(ast.literal_eval(line) for line in part.split("\n") if line) for part in match.groups()
        )
        if msgid:
            entries[msgid] = msgstr
    return entries


def test_every_message_is_translated_and_the_compiled_catalogue_is_current() -> None:
    entries = po_entries()
    assert len(entries) >= 15
    with translation.override("id"):
        for msgid, msgstr in entries.items():
            assert msgstr, f"untranslated: {msgid}"
            assert translation.gettext(msgid) == msgstr, f"django.mo is older than django.po for: {msgid}"


def test_schedule_refusals_answer_in_indonesian_by_default_and_english_on_request() -> None:
    request = {"principal": 1_000, "tenor_months": 12, "rounding": 1000}
    indonesian = APIClient().post("/api/v1/simulations/", request, format="json").json()
    assert indonesian["message"] == "Masukan tidak valid."
    assert indonesian["errors"]["rounding"] == [
        "Pembulatan 1000 rupiah terlalu kasar untuk pinjaman ini: pinjaman akan lunas sebelum angsuran terakhir."
    ]
    english = APIClient().post("/api/v1/simulations/", request, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["message"] == "Invalid input."
    assert english["errors"]["rounding"][0].startswith("A rounding unit of 1000 rupiah is too coarse")
