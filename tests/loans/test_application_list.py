"""The application list's answer: rendered from plain rows (its hot path), it must give
byte for byte what the application serializers give for the same applications, and
read a page in two queries (the count and the page) whatever the rows."""

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from loans.apis.applications import _LIST_PAGE, ApplicationSerializer
from loans.models import Application
from loans.selectors.applications import application_list
from loans.services import applications as services
from tests.factories import BusinessFactory, UserFactory
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db


def applications_of_every_kind(programme: Programme) -> list[Application]:
    """One application in each state, at both banks, with what each state fills in: a
    visit with a photo and coordinates, an arrears credit check, an approval, a loan, a
    rejection and a withdrawal."""
    made = []

    def draft(**overrides: Any) -> Application:
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        return programme.draft(borrower=business.borrower, business=business, **overrides)

    made.append(programme.draft(collateral=True, principal=7_500_000, purpose=""))
    made.append(programme.advance(draft(bank=programme.jateng), "submitted"))
    visited = programme.advance(draft(), "submitted")
    made.append(
        services.application_field_verify(
            actor=programme.officer2,
            application_id=visited.pk,
            visited_on=timezone.localdate(),
            notes="Warung buka",
            latitude=Decimal("-6.9825"),
            longitude=Decimal("110.409312"),
            photo=SimpleUploadedFile("warung.jpg", b"\xff\xd8\xff\xe0", content_type="image/jpeg"),
        )
    )
    made.append(programme.advance(draft(bank=programme.jateng), "forwarded"))
    checked = programme.advance(draft(), "forwarded")
    made.append(
        services.application_credit_check(
            actor=programme.pasar_staff, application_id=checked.pk, result="arrears", notes="Tunggakan di BPR lain"
        )
    )
    made.append(programme.advance(draft(), "approved"))
    made.append(programme.advance(draft(), "disbursed"))
    made.append(programme.advance(draft(bank=programme.jateng), "disbursed"))
    rejected = programme.advance(draft(), "forwarded")
    made.append(
        services.application_reject(actor=programme.pasar_staff, application_id=rejected.pk, reason="Usaha tutup")
    )
    made.append(services.application_withdraw(actor=programme.officer, application_id=draft().pk, reason="Tidak jadi"))
    # Waited for different times, so the default order (the longest wait first) is not the ids'.
    for days, application in enumerate(made):
        Application.objects.filter(pk=application.pk).update(
            state_changed_at=timezone.now() - timedelta(days=(days * 7) % 11, seconds=days)
        )
    return made


def readers(programme: Programme) -> list[Any]:
    borrower = UserFactory.create(role="borrower")
    programme.borrower.user = borrower
    programme.borrower.save()
    return [programme.officer, programme.auditor, programme.pasar_staff, programme.jateng_staff, borrower]


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_list_answers_as_the_application_serializers_do(
    api_client: Any, programme: Programme, settings: Any, tmp_path: Any, monkeypatch: Any, language: str
) -> None:
    settings.MEDIA_ROOT = tmp_path
    applications_of_every_kind(programme)
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # waiting_seconds alike in every answer
    for user in readers(programme):
        api_client.force_authenticate(user)
        for query in ("", "ordering=-id", "state=disbursed&state=field_verified", "bank=JATENG", "min_waiting_days=3"):
            answer = api_client.get(f"/api/v1/applications/?{query}", HTTP_ACCEPT_LANGUAGE=language)
            assert answer.status_code == 200
            listed = answer.json()["results"]
            with translation.override(language):
                applications = application_list(user=user, params=QueryDict(query))
                expected = ApplicationSerializer(applications, many=True).data
            # JSON text, not dictionaries: true is not 1, and the fields keep their order.
            assert json.dumps(listed) == json.dumps(expected), (user, query)
        for row in answer.json()["results"]:
            detail = api_client.get(f"/api/v1/applications/{row['id']}/", HTTP_ACCEPT_LANGUAGE=language).json()
            assert json.dumps(row) == json.dumps({name: detail[name] for name in row})
    api_client.force_authenticate(programme.officer)
    shown = api_client.get("/api/v1/applications/?ordering=id").json()["results"]
    assert {row["state"] for row in shown} == set(Application.State.values)
    visited = next(row for row in shown if row["state"] == "field_verified")
    assert (visited["has_visit_photo"], visited["visit_latitude"], visited["visit_longitude"]) == (
        True,
        "-6.982500",
        "110.409312",
    )
    assert all((row["loan"] is not None) == (row["state"] == "disbursed") for row in shown)


def test_the_list_reads_a_page_in_two_queries_whatever_the_rows(
    api_client: Any, programme: Programme, settings: Any, tmp_path: Any, django_assert_max_num_queries: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    programme.draft()
    api_client.force_authenticate(programme.pasar_staff)
    with django_assert_max_num_queries(4):  # the caller's roles and bank (2), the count, the page
        assert api_client.get("/api/v1/applications/").json()["count"] == 0
    applications_of_every_kind(programme)
    for user, filters in (
        (programme.pasar_staff, ""),
        (programme.officer, "?bank=PASAR&kecamatan=33.74.01&state=disbursed&state=approved&ordering=-created"),
    ):
        api_client.force_authenticate(user)
        with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as queries:
            assert api_client.get(f"/api/v1/applications/{filters}").json()["count"] > 0
        count, page = [query["sql"] for query in queries if '"loans_application"' in query["sql"]]
        assert count.startswith("SELECT COUNT(*)")
        if not filters:
            assert "JOIN" not in count  # the page's joins are for its columns, not the count's
        # The page's objects: the borrower (and kelurahan), bank, product, terms and loan
        # are read in the same query, and nothing else is (not the business, only its id).
        assert "borrowers_business" not in page
        assert page.count("JOIN") == 6


def test_the_last_page_and_a_page_past_it(api_client: Any, programme: Programme) -> None:
    ids = [programme.draft().pk]
    for _index in range(2):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        ids.append(programme.draft(borrower=business.borrower, business=business).pk)
    api_client.force_authenticate(programme.officer)
    last = api_client.get("/api/v1/applications/?ordering=id&page_size=2&page=last").json()
    assert (last["count"], [row["id"] for row in last["results"]]) == (3, ids[2:])
    assert api_client.get("/api/v1/applications/?page_size=2&page=3").status_code == 404
    assert api_client.get("/api/v1/applications/?page=0").status_code == 400


def test_the_prepared_list_answers_as_the_filtered_one_for_every_ordering_and_refuses_a_bad_one(
    api_client: Any, programme: Programme, settings: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    # With no filter but the ordering the list is read by prepared queries; any other
    # parameter sends it through the FilterSet. Both must answer the same pages.
    settings.MEDIA_ROOT = tmp_path
    applications_of_every_kind(programme)
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    # A filter that keeps everything: the FilterSet's path.
    everything = "&".join(f"state={state}" for state in Application.State.values)
    prepared_pages: list[Any] = []
    read_page = _LIST_PAGE.dicts

    def counted_page(*args: Any, **kwargs: Any) -> Any:
        prepared_pages.append(args)
        return read_page(*args, **kwargs)

    monkeypatch.setattr(_LIST_PAGE, "dicts", counted_page)
    for user in readers(programme):
        api_client.force_authenticate(user)
        for ordering in ("", "ordering=waiting", "ordering=-waiting", "ordering=created", "ordering=-id"):
            for page in ("page_size=3", "page_size=3&page=2", "page_size=500"):
                prepared = api_client.get(f"/api/v1/applications/?{ordering}&{page}")
                filtered = api_client.get(f"/api/v1/applications/?{ordering}&{page}&{everything}")
                assert prepared.status_code == filtered.status_code, (user, ordering, page)
                if prepared.status_code == 200:
                    assert prepared.json()["results"] == filtered.json()["results"], (user, ordering, page)
                    assert prepared.json()["count"] == filtered.json()["count"]
        assert prepared_pages  # the list without filters was read by the prepared queries
        prepared_pages.clear()
        bad = api_client.get("/api/v1/applications/?ordering=bogus")
        assert bad.status_code == 400
        assert "ordering" in bad.json()["errors"]
