"""The city office's pages: the queue, an application with its steps (maker-checker
said on the page and enforced by the service), the borrowers, registering a borrower
with the NIK checked as it is typed, and a new application."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from borrowers.models import Borrower, BorrowerReadLog
from config.clock import business_today
from loans.models import Application
from tests.factories import BusinessFactory, UserFactory, bank_user, synthetic_nik
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db

State = Application.State
EN = {"Accept-Language": "en"}
#: Queries of a page: the session, the user, their roles, the page's own reads, the
#: session saved (every request extends it).
QUERIES = 9
#: The borrower's page also writes the read of the full NIK (an insert in a savepoint).
BORROWER_QUERIES = QUERIES + 2


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def html_of(answer: Any) -> str:
    return str(answer.content.decode())


def urls(programme: Programme) -> list[str]:
    application = programme.draft()
    return [
        "/office/",
        f"/office/applications/{application.pk}/",
        "/office/borrowers/",
        f"/office/borrowers/{programme.borrower.pk}/",
        "/office/borrowers/new/",
        f"/office/borrowers/{programme.borrower.pk}/applications/new/",
    ]


# --- access -----------------------------------------------------------------------------------


def test_every_page_sends_a_stranger_to_sign_in(client: Client, programme: Programme) -> None:
    for url in urls(programme):
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert answer["Location"].startswith("/login/?next=")


def test_borrowers_and_bank_staff_are_refused(client: Client, programme: Programme) -> None:
    borrower_user = UserFactory.create(role="borrower")
    Borrower.objects.filter(pk=programme.borrower.pk).update(user=borrower_user)
    for user in (borrower_user, programme.pasar_staff):
        signed_in(client, user)
        for url in urls(programme):
            assert client.get(url).status_code == 403, (user.username, url)


def test_an_unknown_application_or_borrower_is_not_found(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    assert client.get("/office/applications/999999/").status_code == 404
    assert client.get("/office/borrowers/999999/").status_code == 404
    assert client.get("/office/borrowers/999999/applications/new/").status_code == 404
    assert client.post("/office/applications/999999/forward/").status_code == 404


def test_managers_and_auditors_read_but_do_not_act(client: Client, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    signed_in(client, programme.auditor)
    html = html_of(client.get(f"/office/applications/{application.pk}/", headers=EN))
    assert "Record the visit" not in html
    assert "Reject the application" not in html
    assert "What the office can do" not in html
    assert "Time in each state" in html
    borrower = html_of(client.get(f"/office/borrowers/{programme.borrower.pk}/"))
    assert programme.borrower.nik not in borrower  # masked for the auditor, as the API shows it
    assert programme.borrower.nik[:4] + "********" + programme.borrower.nik[-4:] in borrower
    assert client.get("/office/borrowers/new/").status_code == 403
    answer = client.post(f"/office/applications/{application.pk}/reject/", {"reject-reason": "x"})
    assert answer.status_code == 403
    application.refresh_from_db()
    assert application.state == State.SUBMITTED


# --- the queue --------------------------------------------------------------------------------


def test_the_queue_shows_the_office_states_oldest_waiting_first_with_counts(
    client: Client, programme: Programme
) -> None:
    newer = programme.draft(principal=3_000_000)
    older = programme.advance(programme.draft(principal=4_000_000), "submitted")
    forwarded = programme.advance(programme.draft(principal=2_000_000), "forwarded")
    Application.objects.filter(pk=older.pk).update(state_changed_at=timezone.now() - timedelta(days=9))
    signed_in(client, programme.officer)
    html = html_of(client.get("/office/", headers=EN))
    assert html.index(f"#{older.pk}<") < html.index(f"#{newer.pk}<")
    assert f"#{forwarded.pk}<" not in html  # at the bank, another tab
    assert "Rp4.000.000" in client.get("/office/").content.decode()
    assert "1\xa0week, 2\xa0days" in html  # timesince joins with no-break spaces
    assert 'Forwarded <span class="count">1</span>' in html
    assert 'At the office <span class="count">2</span>' in html
    tab = html_of(client.get("/office/?state=forwarded", HTTP_HX_REQUEST="true", headers=EN))
    assert "<html" not in tab
    assert f"#{forwarded.pk}<" in tab
    assert f"#{older.pk}<" not in tab


def test_the_queue_query_count_does_not_grow_with_rows(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    signed_in(client, programme.officer)
    programme.draft()
    with django_assert_max_num_queries(QUERIES):
        assert client.get("/office/").status_code == 200
    for _ in range(12):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        programme.draft(borrower=business.borrower, business=business)
    with django_assert_max_num_queries(QUERIES):
        html = html_of(client.get("/office/"))
    assert html.count("<tr>") == 14  # the header and 13 rows


# --- an application and its steps ------------------------------------------------------------


def test_the_application_page_shows_checks_stages_and_history(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    application = programme.advance(programme.draft(), "field_verified")
    signed_in(client, programme.officer)
    with django_assert_max_num_queries(QUERIES):
        html = html_of(client.get(f"/office/applications/{application.pk}/", headers=EN))
    assert "✓ Pass" in html
    assert "The applicant is" in html  # the age check's reason
    assert "Time in each state" in html
    assert html.count("<tr>") == 1 + 3  # draft, submitted, field verified
    assert "Field visit recorded" in html
    assert "officer2" in html
    assert "Forward to PASAR" in html
    # More history and checks, the same queries.
    programme.advance(application, "forwarded")
    with django_assert_max_num_queries(QUERIES):
        client.get(f"/office/applications/{application.pk}/")


def test_a_failed_check_shows_its_reason(client: Client, programme: Programme) -> None:
    young = BusinessFactory.create(started_on=timezone.localdate() - timedelta(days=100))
    application = programme.draft(business=young, borrower=young.borrower)
    signed_in(client, programme.officer)
    answer = client.post(f"/office/applications/{application.pk}/submit/", headers=EN)
    assert answer.status_code == 400
    html = html_of(answer)
    assert "✗ Fail" in html
    assert 'class="error-box" role="alert"' in html
    assert html.count("The business has run 3 months") == 2  # the refusal and the stored check
    application.refresh_from_db()
    assert application.state == State.DRAFT


def test_submit_field_visit_forward_move_the_application(client: Client, programme: Programme) -> None:
    application = programme.draft()
    url = f"/office/applications/{application.pk}/"
    signed_in(client, programme.officer)
    answer = client.post(url + "submit/")
    assert answer.status_code == 302
    assert answer["Location"] == url
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    assert application.submitted_by == programme.officer

    signed_in(client, programme.officer2)
    today = timezone.localdate().isoformat()
    answer = client.post(url + "field-verify/", {"field-verify-visited_on": today, "field-verify-notes": "Warung buka"})
    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.state == State.FIELD_VERIFIED
    assert application.visit_officer == programme.officer2

    answer = client.post(url + "forward/", {"forward-note": ""}, follow=True, headers=EN)
    assert "The application is forwarded to the bank." in html_of(answer)
    application.refresh_from_db()
    assert application.state == State.FORWARDED


def test_reject_needs_a_reason_and_changes_the_state(client: Client, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    url = f"/office/applications/{application.pk}/reject/"
    signed_in(client, programme.officer)
    answer = client.post(url, {"reject-reason": ""}, headers=EN)
    assert answer.status_code == 400
    assert 'id="id_reject-reason_error"' in html_of(answer)
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    assert client.post(url, {"reject-reason": "Usaha tidak ditemukan"}).status_code == 302
    application.refresh_from_db()
    assert application.state == State.REJECTED
    assert application.end_reason == "Usaha tidak ditemukan"


def test_a_bad_visit_date_is_said_beside_the_field_and_kept(client: Client, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    signed_in(client, programme.officer2)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    answer = client.post(
        f"/office/applications/{application.pk}/field-verify/",
        {"field-verify-visited_on": future, "field-verify-notes": "Catatan saya"},
        headers=EN,
    )
    assert answer.status_code == 400
    html = html_of(answer)
    assert "The visit must be between the submission and today." in html
    assert 'id="id_field-verify-visited_on_error"' in html
    assert f'value="{future}"' in html
    assert "Catatan saya" in html
    application.refresh_from_db()
    assert application.state == State.SUBMITTED


def test_maker_checker_the_submitter_sees_why_and_no_visit_button(client: Client, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "submitted")
    signed_in(client, programme.officer)
    html = html_of(client.get(f"/office/applications/{application.pk}/", headers=EN))
    assert "A second officer must verify this application" in html
    assert "Record the visit" not in html
    assert "field-verify/" not in html
    # A forged POST is refused by the service, said on the page, and changes nothing.
    answer = client.post(
        f"/office/applications/{application.pk}/field-verify/",
        {"field-verify-visited_on": timezone.localdate().isoformat(), "field-verify-notes": "Sendiri"},
        headers=EN,
    )
    assert answer.status_code == 403
    assert 'class="error-box" role="alert"' in html_of(answer)
    assert "A second officer must verify this application" in html_of(answer)
    application.refresh_from_db()
    assert application.state == State.SUBMITTED
    # The second officer is offered the form.
    signed_in(client, programme.officer2)
    html = html_of(client.get(f"/office/applications/{application.pk}/", headers=EN))
    assert "Record the visit" in html
    assert "A second officer must verify" not in html
    assert f'value="{timezone.localdate().isoformat()}"' in html  # the visit date starts at today


def test_a_step_in_the_wrong_state_is_refused_on_the_page(client: Client, programme: Programme) -> None:
    application = programme.draft()
    signed_in(client, programme.officer)
    answer = client.post(f"/office/applications/{application.pk}/forward/", {"forward-note": ""}, headers=EN)
    assert answer.status_code == 409
    assert "it is draft" in html_of(answer)
    assert client.post(f"/office/applications/{application.pk}/approve/").status_code == 404


# --- borrowers --------------------------------------------------------------------------------


def test_the_borrower_list_masks_nik_and_searches_by_post(client: Client, programme: Programme) -> None:
    other = BusinessFactory.create(borrower__name="Slamet Riyadi").borrower
    signed_in(client, programme.officer)
    html = html_of(client.get("/office/borrowers/"))
    assert other.nik not in html
    assert other.nik[:4] + "********" + other.nik[-4:] in html
    found = html_of(client.post("/office/borrowers/", {"q": other.nik}, HTTP_HX_REQUEST="true"))
    assert "Slamet Riyadi" in found
    assert programme.borrower.name not in found
    assert "<html" not in found
    assert "Slamet Riyadi" in html_of(client.post("/office/borrowers/", {"q": "riyadi"}))
    assert 'method="post"' in html


def test_the_borrower_page_shows_the_full_nik_to_an_officer_and_logs_it(client: Client, programme: Programme) -> None:
    application = programme.draft()
    signed_in(client, programme.officer)
    html = html_of(client.get(f"/office/borrowers/{programme.borrower.pk}/", headers=EN))
    assert programme.borrower.nik in html
    assert BorrowerReadLog.objects.filter(borrower=programme.borrower, user=programme.officer).count() == 1
    assert programme.business.name in html
    assert f"#{application.pk}" in html
    assert f'href="/office/borrowers/{programme.borrower.pk}/applications/new/"' in html


def test_the_give_a_login_form_is_there_once_the_accounts_page_is(client: Client, programme: Programme) -> None:
    from django.urls import NoReverseMatch, reverse

    signed_in(client, programme.officer)
    html = html_of(client.get(f"/office/borrowers/{programme.borrower.pk}/", headers=EN))
    try:
        url = reverse("web:borrower-login-issue", args=[programme.borrower.pk])
    except NoReverseMatch:
        assert "Give a login" not in html
    else:
        assert f'action="{url}"' in html
        assert "Give a login" in html


# --- registering a borrower ---------------------------------------------------------------------


def registration(**overrides: Any) -> dict[str, Any]:
    values = {
        "nik": synthetic_nik(date(1985, 8, 17), "F", 4321),
        "name": "Sri Wahyuni",
        "birth_date": "1985-08-17",
        "sex": "F",
        "phone": "0812-3456-7890",
        "address": "Jl. Pemuda 12",
        "kecamatan": "33.74.01",
        "kelurahan": "33.74.01.1001",
        "npwp": "",
        "business_name": "Warung Bu Sri",
        "sector": "food",
        "kind": "individual",
        "nib": "9120001234567",
        "licence_number": "",
        "started_on": "2019-03-01",
        "monthly_revenue": "15000000",
        "workers": "1",
        "health_rating": "",
    }
    values.update(overrides)
    return values


def test_registration_creates_the_borrower_through_the_service(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    answer = client.post("/office/borrowers/new/", registration())
    assert answer.status_code == 302, html_of(answer)
    borrower = Borrower.objects.get(name="Sri Wahyuni")
    assert answer["Location"] == f"/office/borrowers/{borrower.pk}/"
    assert borrower.phone == "+6281234567890"
    assert borrower.created_by == programme.officer
    assert borrower.businesses.get().name == "Warung Bu Sri"
    from audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="borrower_create", subject_id=str(borrower.pk)).exists()


def test_a_bad_nik_is_said_beside_the_field_and_what_was_typed_kept(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    answer = client.post("/office/borrowers/new/", registration(nik="337401570885"), headers=EN)
    assert answer.status_code == 400
    html = html_of(answer)
    assert 'id="id_nik_error"' in html
    assert "A NIK has 16 digits; this one has 12." in html
    assert 'value="337401570885"' in html
    assert 'value="Warung Bu Sri"' in html
    assert not Borrower.objects.filter(name="Sri Wahyuni").exists()
    indonesian = html_of(client.post("/office/borrowers/new/", registration(nik="337401570885")))
    assert "this one has 12" not in indonesian


def test_a_nested_business_refusal_goes_beside_its_field(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    html = html_of(client.post("/office/borrowers/new/", registration(nib="12345"), headers=EN))
    assert 'id="id_nib_error"' in html
    assert "An NIB has 13 digits; this one has 5." in html


def test_the_nik_is_checked_as_it_is_typed(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    short = html_of(client.post("/office/borrowers/nik/", {"nik": "3374"}, headers=EN))
    assert "A NIK has 16 digits; this one has 4." in short
    new_nik = synthetic_nik(date(1985, 8, 17), "F", 4321)
    valid = html_of(client.post("/office/borrowers/nik/", {"nik": new_nik}, headers=EN))
    assert "A valid NIK: a woman born on 17-08-85" in valid
    duplicate = html_of(client.post("/office/borrowers/nik/", {"nik": programme.borrower.nik}, headers=EN))
    assert f'href="/office/borrowers/{programme.borrower.pk}/"' in duplicate
    assert client.get("/office/borrowers/nik/").status_code == 405


def test_a_duplicate_nik_links_to_the_registered_borrower(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    existing = programme.borrower
    answer = client.post(
        "/office/borrowers/new/",
        registration(nik=existing.nik, birth_date=existing.birth_date.isoformat(), sex=existing.sex),
        headers=EN,
    )
    assert answer.status_code == 400
    html = html_of(answer)
    assert "A borrower with this NIK is already registered." in html
    assert f'href="/office/borrowers/{existing.pk}/"' in html
    assert Borrower.objects.filter(nik=existing.nik).count() == 1


def test_the_kelurahan_list_follows_the_kecamatan(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    html = html_of(client.get("/office/kelurahan/?kecamatan=33.74.01"))
    assert 'value="33.74.01.1001"' in html
    assert "33.74.02." not in html
    everything = html_of(client.get("/office/borrowers/new/"))
    assert everything.count("<optgroup") == 16


# --- a new application ---------------------------------------------------------------------------


def test_a_new_application_is_created_and_submitted(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    url = f"/office/borrowers/{programme.borrower.pk}/applications/new/"
    body = {
        "business": programme.business.pk,
        "bank": "PASAR",
        "principal": "5000000",
        "tenor_months": "12",
        "purpose": "Modal kerja",
        "then": "submit",
    }
    answer = client.post(url, body)
    assert answer.status_code == 302, html_of(answer)
    application = Application.objects.get(borrower=programme.borrower)
    assert answer["Location"] == f"/office/applications/{application.pk}/"
    assert application.state == State.SUBMITTED
    assert application.submitted_by == programme.officer


def test_a_new_application_above_the_ceiling_is_refused_beside_the_amount(client: Client, programme: Programme) -> None:
    signed_in(client, programme.officer)
    url = f"/office/borrowers/{programme.borrower.pk}/applications/new/"
    body = {"business": programme.business.pk, "bank": "PASAR", "principal": "9000000", "tenor_months": "12"}
    answer = client.post(url, {**body, "then": "draft"}, headers=EN)
    assert answer.status_code == 400
    html = html_of(answer)
    assert 'id="id_principal_error"' in html
    assert "Above the ceiling" in html
    assert 'value="9000000"' in html
    assert not Application.objects.exists()


def test_bank_staff_cannot_use_the_nik_check(client: Client, programme: Programme) -> None:
    signed_in(client, bank_user(programme.pasar))
    assert client.post("/office/borrowers/nik/", {"nik": programme.borrower.nik}).status_code == 403


def test_the_borrower_pages_query_count_does_not_grow_with_rows(
    client: Client, programme: Programme, django_assert_max_num_queries: Any
) -> None:
    signed_in(client, programme.officer)
    borrower_url = f"/office/borrowers/{programme.borrower.pk}/"
    programme.draft()
    for url in ("/office/borrowers/", borrower_url, "/office/borrowers/new/", "/office/"):
        with django_assert_max_num_queries(BORROWER_QUERIES if url == borrower_url else QUERIES):
            assert client.get(url).status_code == 200
    for _ in range(10):
        BusinessFactory.create(borrower=BusinessFactory.create().borrower)
        programme.draft(principal=2_000_000)
    for url in ("/office/borrowers/", borrower_url):
        with django_assert_max_num_queries(BORROWER_QUERIES if url == borrower_url else QUERIES):
            assert client.get(url).status_code == 200


def test_withdraw_on_the_applicants_behalf_ends_a_forwarded_application(client: Client, programme: Programme) -> None:
    application = programme.advance(programme.draft(), "forwarded")
    signed_in(client, programme.officer)
    html = html_of(client.get(f"/office/applications/{application.pk}/", headers=EN))
    assert "Reject the application" not in html  # the bank holds the file now
    answer = client.post(f"/office/applications/{application.pk}/withdraw/", {"withdraw-reason": "Pemohon mundur"})
    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.state == State.WITHDRAWN


def test_date_inputs_hold_iso_dates_in_indonesian_too(client: Client, programme: Programme) -> None:
    # A browser's date input shows nothing for "06/12/2026": the value must be ISO in any language.
    application = programme.advance(programme.draft(), "submitted")
    signed_in(client, programme.officer2)
    html = html_of(client.get(f"/office/applications/{application.pk}/"))
    assert f'value="{business_today().isoformat()}"' in html
    signed_in(client, programme.officer)
    html = html_of(client.post("/office/borrowers/new/", registration(nik="337401570885")))
    assert 'value="1985-08-17"' in html
    assert 'value="2019-03-01"' in html


def test_the_success_message_is_a_list_inside_a_status_region(client: Client, programme: Programme) -> None:
    # axe-core: a <ul role="status"> is no list, and its <li> are then out of place.
    signed_in(client, programme.officer)
    html = html_of(client.post("/office/borrowers/new/", registration(), follow=True))
    assert '<div role="status"><ul class="messages"><li class="success">' in html
