"""The agency's Clients pages: set up and change a client, its IBAN and commission terms, the
list with its figures against a small book computed by hand, who may come in, CSRF, audit."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, select

from portal.agency.clients import commission_bp_from_text
from portal.extensions import db
from portal.models import AuditEvent, Beneficiary, Bucket, CaseStatus, Client, EntryCause, Role
from portal.services import clients, ledger
from tests.pages import csrf_token, flashes

FORM = {
    "name": "Bakkerij De Korf B.V.",
    "email": "boekhouding@dekorf.example",
    "phone": "+31 20 123 4567",
    "address": "Dorpsstraat 1\n1234 AB Ergens",
    "iban": "nl91 abna 0417 1643 00",
    "charges_vat_on_costs": "y",
    "active": "y",
    "commission_percent": "12,5",
    "commission_vat_percent": "21",
    "interest_to": "agency",
    "costs_to": "agency",
}


@pytest.fixture
def admin(make, login, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = login(make.user(Role.ADMIN, language="en"))
    db.session.commit()
    return user


def post_form(client, url: str, **changes):
    """Send the client form as the page has it, with `changes` (None leaves a field out)."""
    data = {**FORM, **changes, "csrf_token": csrf_token(client.get(url).text)}
    return client.post(url, data={k: v for k, v in data.items() if v is not None})


def value_of(html: str, name: str) -> str | None:
    """The value an input of the page holds."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def selected(html: str, name: str) -> str | None:
    """The chosen option of a select of the page."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>.*?<option selected value="([^"]*)"',
                      html, re.S)
    return match.group(1) if match else None


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# -- set up and change -------------------------------------------------------------------------


def test_the_new_form_offers_the_usual_terms(client, admin):
    page = client.get("/agency/clients/new")
    assert page.status_code == 200
    html = page.text
    assert (value_of(html, "commission_percent"), value_of(html, "commission_vat_percent")) == (
        "15", "21")
    assert (selected(html, "interest_to"), selected(html, "costs_to")) == ("client", "agency")
    assert '<input checked id="active"' in html
    assert '<input id="charges_vat_on_costs"' in html


def test_an_admin_sets_up_a_client(client, admin):
    response = post_form(client, "/agency/clients/new")

    made = db.session.scalars(select(Client)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/agency/clients/{made.id}"
    assert (made.name, made.email, made.phone, made.address) == (
        FORM["name"], FORM["email"], FORM["phone"], FORM["address"])
    assert made.iban == "NL91ABNA0417164300"  # stored compact
    assert (made.charges_vat_on_costs, made.active) == (True, True)
    assert (made.commission_bp, made.commission_vat_percent) == (1250, 21)
    assert (made.interest_to, made.costs_to) == (Beneficiary.AGENCY, Beneficiary.AGENCY)
    assert flashes(client.get(response.headers["Location"]).text) == [
        "Bakkerij De Korf B.V. is set up."]
    [created] = events("client.created")
    assert (created.client_id, created.actor_user_id, created.client_visible) == (
        made.id, admin.id, False)
    assert created.detail["terms"] == {"commission_bp": 1250, "commission_vat_percent": 21,
                                       "interest_to": "agency", "costs_to": "agency"}


def test_the_edit_form_shows_the_stored_client(client, admin, make):
    made = make.client("Kaashandel B.V.", commission_bp=1250, interest_to=Beneficiary.AGENCY)
    db.session.commit()
    html = client.get(f"/agency/clients/{made.id}").text
    assert value_of(html, "name") == "Kaashandel B.V."
    assert value_of(html, "commission_percent") == "12.5"
    assert (selected(html, "interest_to"), selected(html, "costs_to")) == ("agency", "agency")
    assert "12.5 % of principal + VAT 21 %; interest to the agency; costs and fees to the " \
           "agency" in html


def test_an_admin_changes_details_and_terms_audited_with_old_and_new(client, admin, make):
    made = make.client("Oude Naam B.V.")
    db.session.commit()
    url = f"/agency/clients/{made.id}"

    response = post_form(client, url, name="Nieuwe Naam B.V.", iban="", active=None,
                         commission_percent="20", interest_to="client")

    assert response.status_code == 302 and response.headers["Location"] == url
    db.session.expire_all()
    assert (made.name, made.iban, made.active) == ("Nieuwe Naam B.V.", None, False)
    assert (made.commission_bp, made.interest_to) == (2000, Beneficiary.CLIENT)
    [updated] = events("client.updated")
    assert updated.client_id == made.id and updated.actor_user_id == admin.id
    assert updated.detail["changed"]["name"] == ["Oude Naam B.V.", "Nieuwe Naam B.V."]
    assert updated.detail["changed"]["commission_bp"] == [1500, 2000]
    assert updated.detail["terms"] == {
        "old": {"commission_bp": 1500, "commission_vat_percent": 21,
                "interest_to": "client", "costs_to": "agency"},
        "new": {"commission_bp": 2000, "commission_vat_percent": 21,
                "interest_to": "client", "costs_to": "agency"},
    }
    assert flashes(client.get(url).text) == ["Nieuwe Naam B.V. is saved."]


def test_saving_without_a_change_writes_no_audit_event(app, make, admin):
    made = make.client("Stil B.V.", email="a@stil.example")
    assert clients.update_client(made, admin, name="Stil B.V.", email="a@stil.example",
                                 commission_bp=1500) == {}
    assert events("client.updated") == []
    changed = clients.update_client(made, admin, phone="06 1234 5678")
    assert changed == {"phone": (None, "06 1234 5678")}
    [updated] = events("client.updated")
    assert "terms" not in updated.detail  # only details changed: no terms in the event


def test_the_service_refuses_a_field_it_does_not_edit(app, make, admin):
    with pytest.raises(TypeError):
        clients.create_client(admin, name="X", min_payment_cents=1)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "error"),
    [
        ("", None, None),  # optional: a new client may not have given one yet
        ("   ", None, None),
        ("nl91 abna 0417 1643 00", "NL91ABNA0417164300", None),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000", None),
        ("NL92ABNA0417164300", None, "The check digits of this IBAN do not match"),
        ("NL91ABNA041716430", None, "too many or too few characters"),
        ("XX91ABNA0417164300", None, "does not start with a known country code"),
        ("hello", None, "This is not an IBAN."),
        ("BR1800360305000010009795493C1", None, "outside the SEPA area"),
    ],
)
def test_iban_is_optional_and_checked(client, admin, typed, stored, error):
    response = post_form(client, "/agency/clients/new", iban=typed)
    made = db.session.scalars(select(Client)).one_or_none()
    if error is None:
        assert response.status_code == 302
        assert made.iban == stored
    else:
        assert response.status_code == 422
        assert error in response.text and 'aria-invalid="true"' in response.text
        assert made is None


@pytest.mark.parametrize(
    ("typed", "bp"),
    [("15", 1500), ("12.5", 1250), ("12,5", 1250), ("12,50", 1250), ("0", 0), ("100", 10_000),
     ("0.01", 1), ("15 %", 1500), (" 7.25 ", 725)],
)
def test_commission_percent_is_read_in_hundredths(typed, bp):
    assert commission_bp_from_text(typed) == bp


@pytest.mark.parametrize("typed", ["100.01", "101", "-1", "1.234", "abc", "", "1,2,3", "1e2",
                                   ".5", "15.", None])
def test_commission_percent_refuses_what_it_cannot_read(typed):
    with pytest.raises(ValueError):
        commission_bp_from_text(typed)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"commission_percent": "100.01"}, "Fill in a percentage from 0 to 100"),
        ({"commission_percent": "-1"}, "Fill in a percentage from 0 to 100"),
        ({"commission_percent": "1.234"}, "Fill in a percentage from 0 to 100"),
        ({"commission_percent": "abc"}, "Fill in a percentage from 0 to 100"),
        ({"commission_vat_percent": "101"}, "Number must be between 0 and 100."),
        ({"name": "  "}, "This field is required."),
        ({"email": "not an address"}, "Invalid email address."),
        ({"interest_to": "nobody"}, "Not a valid choice."),
    ],
)
def test_a_refused_form_is_shown_again_with_422_and_nothing_changes(client, admin, make,
                                                                    changes, message):
    made = make.client("Blijft B.V.")
    db.session.commit()
    response = post_form(client, f"/agency/clients/{made.id}", **changes)
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert (made.name, made.commission_bp, made.iban) == ("Blijft B.V.", 1500, None)
    assert events("client.updated") == []


def test_a_form_without_its_csrf_token_is_refused(client, admin):
    response = client.post("/agency/clients/new", data=FORM)
    assert response.status_code == 400
    assert "expired or was sent from elsewhere" in response.text
    assert db.session.scalars(select(Client)).all() == []


# -- the list ----------------------------------------------------------------------------------

# name: (amounts (cents), interest, payments (cents), final status)
BOOK = {
    "a1": ((100_000,), 2_500, [30_000, 10_000], CaseStatus.ACTIVE),
    "a2": ((20_000,), 0, [20_000], CaseStatus.PAID),
    "a3": ((5_000, 7_000), 0, [], CaseStatus.NEW),
    "a4": ((9_000,), 0, [1_000], CaseStatus.WITHDRAWN),
}
EXPECTED = clients.ClientSummary(
    open_cases=2,  # a1, a3
    outstanding_cents=(100_000 + 2_500 - 40_000) + 12_000,
    collected_cents=30_000 + 10_000 + 20_000 + 1_000,  # closed cases count too
)


def _book(make, client, book):
    for amounts, interest, payments, status in book.values():
        case, _ = make.case(client, amounts=amounts)
        if interest:
            ledger.book(case, Bucket.INTEREST, interest, EntryCause.INTEREST, "interest",
                        booked_on=date(2026, 3, 2))
        for cents in payments:
            ledger.book(case, Bucket.PRINCIPAL, -cents, EntryCause.PAYMENT, "payment",
                        booked_on=date(2026, 3, 5))
        case.status = status
    db.session.flush()


@pytest.fixture
def book(make):
    """Client A with the BOOK; client B with one open case and one payment; C without cases."""
    a, b, c = make.client("Alfa B.V."), make.client("Bravo B.V."), make.client("Charlie B.V.")
    _book(make, a, BOOK)
    _book(make, b, {"b1": ((50_000,), 0, [5_000], CaseStatus.PROMISED)})
    db.session.commit()
    return a, b, c


def test_the_figures_match_the_book_computed_by_hand(app, book):
    a, b, c = book
    assert clients.summaries([a.id, b.id, c.id]) == {
        a.id: EXPECTED,
        b.id: clients.ClientSummary(1, 45_000, 5_000),
        c.id: clients.ClientSummary(0, 0, 0),
    }
    assert clients.summaries([]) == {}


def test_the_figures_take_one_query_however_many_clients(app, book):
    ids = [c.id for c in book]
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        clients.summaries(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(statements) == 1 and "GROUP BY" in statements[0]


def test_the_list_shows_each_client_with_figures_terms_and_links(client, admin, book):
    a, _, c = book
    html = client.get("/agency/clients/").text
    assert "3 clients" in html
    row = html.split(f'href="/agency/clients/{a.id}">Alfa B.V.</a>')[1].split("</tr>")[0]
    assert f'href="/agency/cases?client={a.id}&amp;status=open">2</a>' in row
    assert "€745.00" in row and "€610.00" in row  # EXPECTED, in euros
    assert "15 % of principal + VAT 21 %; interest to the client; costs and fees to the " \
           "agency" in row
    for link in (f"/agency/clients/{a.id}/policy", f"/agency/clients/{a.id}/reports",
                 f"/agency/cases?client={a.id}"):
        assert f'href="{link}"' in row
    empty = html.split(f'href="/agency/clients/{c.id}">Charlie B.V.</a>')[1].split("</tr>")[0]
    assert "€0.00" in empty


def test_the_list_searches_by_name_and_by_active(client, admin, book):
    a, b, c = book
    b.active = False
    db.session.commit()

    def names(query: str) -> list[str]:
        html = client.get(f"/agency/clients/?{query}").text
        return [x.name for x in book if f">{x.name}</a>" in html]

    assert names("q=alf") == ["Alfa B.V."]
    assert names("q=B.V") == ["Alfa B.V.", "Bravo B.V.", "Charlie B.V."]
    assert names("q=%25") == []  # a wildcard typed is a character, not a pattern
    assert names("shown=inactive") == ["Bravo B.V."]
    assert names("shown=active") == ["Alfa B.V.", "Charlie B.V."]
    assert names("shown=other") == ["Alfa B.V.", "Bravo B.V.", "Charlie B.V."]


def test_the_list_pages(client, admin, make):
    for n in range(27):
        make.client(f"Klant {n:02d}")
    db.session.commit()
    first, second = client.get("/agency/clients/").text, client.get("/agency/clients/?page=2").text
    assert "Klant 24" in first and "Klant 25" not in first
    assert "Klant 25" in second and "Klant 26" in second and "Klant 00" not in second


def test_htmx_gets_only_the_results(client, admin, book):
    response = client.get("/agency/clients/?q=alfa", headers={"HX-Request": "true"})
    assert "HX-Request" in response.headers["Vary"]
    assert "Alfa B.V." in response.text and "<html" not in response.text
    assert 'name="q"' not in response.text
    boosted = client.get("/agency/clients/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text


def test_settings_and_the_client_pages_link_to_each_other(client, admin, make):
    made = make.client()
    db.session.commit()
    assert 'href="/agency/clients/"' in client.get("/agency/settings/").text
    back = f'href="/agency/clients/{made.id}"'
    assert back in client.get(f"/agency/clients/{made.id}/policy").text
    assert back in client.get(f"/agency/clients/{made.id}/reports").text


# -- who may come in ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER, Role.CLIENT])
def test_only_admins_come_in(client, login, make, role):
    made = make.client()
    login(make.user(role, client=made if role == Role.CLIENT else None))
    db.session.commit()
    for url in ("/agency/clients/", "/agency/clients/new", f"/agency/clients/{made.id}"):
        assert client.get(url).status_code == 403, url
    home = "/client/" if role == Role.CLIENT else "/agency/"
    token = csrf_token(client.get(home).text)  # a valid token: only the role refuses it
    response = client.post(f"/agency/clients/{made.id}", data={**FORM, "csrf_token": token})
    assert response.status_code == 403
    db.session.expire_all()
    assert made.name != FORM["name"]


def test_a_visitor_is_sent_to_sign_in(client, make):
    made = make.client()
    db.session.commit()
    response = client.get(f"/agency/clients/{made.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_client_is_not_found(client, admin):
    assert client.get("/agency/clients/999").status_code == 404
