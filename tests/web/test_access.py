"""What every page of the web app answers a stranger, and what it keeps out of its
addresses: found by walking the `web` URL patterns, so a new page cannot be missed."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from web.urls import urlpatterns

pytestmark = pytest.mark.django_db

#: Pages anyone may open (signing out is a POST anyone may send: it ends no one's session).
PUBLIC = {"home", "simulator", "login", "logout", "activate"}


def address(pattern: URLPattern) -> str:
    """The page's address, with 1 for every id and ``visit`` for a step."""
    kwargs = {
        name: ("field-verify" if converter == "slug" else 1)
        for converter, name in re.findall(r"<(\w+):(\w+)>", str(pattern.pattern))
    }
    return reverse(f"web:{pattern.name}", kwargs=kwargs)


PAGES = [pytest.param(pattern, id=str(pattern.name)) for pattern in urlpatterns if pattern.name not in PUBLIC]


def test_every_page_is_named_and_the_public_ones_are_the_ones_meant() -> None:
    names = [pattern.name for pattern in urlpatterns]
    assert all(names)
    assert len(names) == len(set(names))
    assert set(names) >= PUBLIC


@pytest.mark.parametrize("pattern", PAGES)
def test_a_stranger_is_sent_to_sign_in_from_every_other_page(client: Client, pattern: URLPattern) -> None:
    url = address(pattern)
    answers = {method.__name__: method(url) for method in (client.get, client.post)}
    # The method a page takes sends a stranger to sign in; the other is not allowed (405).
    assert sorted(answer.status_code for answer in answers.values()) in ([302, 302], [302, 405]), (url, answers)
    for answer in answers.values():
        if answer.status_code == 302:
            assert answer["Location"] == f"/login/?next={url}"


def test_no_page_takes_personal_data_in_its_address() -> None:
    # Ids and steps only: a NIK, a name or a phone number is sent in a form's body.
    for pattern in urlpatterns:
        for converter, name in re.findall(r"<(\w+):(\w+)>", str(pattern.pattern)):
            assert converter == "int" or (converter == "slug" and name == "step"), pattern
