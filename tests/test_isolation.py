"""No one reaches another's cases: not a client by changing a number, not a debtor by a link.

Two clients, two debtors. Debtor "mine" owes both clients, so a debtor sees cases across
clients while a client user sees only their own client's cases, whoever the debtor is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.extensions import db
from portal.models import Case, Role
from tests.pages import csrf_token


@dataclass
class World:
    own: Case  # the signed-in client's case, debtor "mine"
    others: Case  # another client's case, debtor "theirs"
    others_of_mine: Case  # another client's case, debtor "mine"


@pytest.fixture
def world(make) -> World:
    ours, theirs = make.client("Ours B.V."), make.client("Theirs B.V.")
    mine = make.debtor(name="Marieke Mijns")
    other = make.debtor(name="Otto Anders")
    own, _ = make.case(client=ours, debtor=mine)
    others, _ = make.case(client=theirs, debtor=other, amounts=(777_00,))
    others_of_mine, _ = make.case(client=theirs, debtor=mine)
    db.session.commit()
    return World(own, others, others_of_mine)


@pytest.fixture
def as_client_user(world, make, login):
    """Sign the test client in as a user of the client that owns `world.own`."""
    user = make.user(Role.CLIENT, client=world.own.client)
    db.session.commit()
    return login(user)


@pytest.fixture
def as_debtor(world, client):
    """Sign the test client in as the debtor of `world.own` (as a signed link would)."""
    with client.session_transaction() as session:
        session["debtor_id"] = world.own.debtor_id


# -- a client user ---------------------------------------------------------------------

def case_routes(app, blueprint: str) -> list[tuple[str, str]]:
    """(method, url template) of every route of a blueprint that takes a case id."""
    return [
        (method, re.sub(r"<(?:int:)?case_id>", "{case}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{blueprint}.") and "case_id" in rule.arguments
        for method in sorted(rule.methods & {"GET", "POST"})
    ]


def try_route(test_client, method: str, url: str, token: str):
    if method == "GET":
        return test_client.get(url)
    return test_client.post(url, data={"csrf_token": token})


@pytest.mark.parametrize("target", ["others", "others_of_mine"])
def test_no_client_route_opens_another_clients_case(app, client, world, as_client_user, target):
    routes = case_routes(app, "client")
    assert routes, "no client route takes a case id any more: is this test still needed?"
    token = csrf_token(client.get("/client/").text)
    for method, template in routes:
        response = try_route(client, method, template.format(case=getattr(world, target).id),
                             token)
        assert response.status_code == 404, (method, template)
        assert getattr(world, target).reference not in response.text
    assert client.get(f"/client/cases/{world.own.id}").status_code == 200


def test_another_clients_case_answers_like_a_missing_one(client, world, as_client_user):
    """Not even the wording tells that a case with this number exists."""
    missing = max(world.own.id, world.others.id, world.others_of_mine.id) + 1
    other = client.get(f"/client/cases/{world.others.id}")
    absent = client.get(f"/client/cases/{missing}")
    assert (other.status_code, other.text) == (absent.status_code, absent.text)


SEARCHES = {
    "reference": lambda case: case.reference,
    "reference in lower case": lambda case: case.reference.lower(),
    "debtor name": lambda case: case.debtor.name,
    "part of the name": lambda case: case.debtor.name.split()[0].lower(),
    "invoice number": lambda case: case.invoices[0].number,
}


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
@pytest.mark.parametrize("search", SEARCHES)
def test_a_search_never_finds_another_clients_case(client, world, as_client_user, htmx, search):
    headers = {"HX-Request": "true"} if htmx else {}
    for case in (world.others, world.others_of_mine):
        response = client.get("/client/cases", query_string={"q": SEARCHES[search](case)},
                              headers=headers)
        assert response.status_code == 200
        found = results(response.text)
        assert case.reference not in found
        assert f"/client/cases/{case.id}" not in found
    # The same search does find the client's own case, so the search itself works.
    own = client.get("/client/cases", query_string={"q": SEARCHES[search](world.own)},
                     headers=headers)
    assert f"/client/cases/{world.own.id}" in results(own.text)


def results(html: str) -> str:
    """The results block of a case list (the search box above it repeats the query)."""
    return html.split('id="results"', 1)[-1]


@pytest.mark.parametrize("query", [{}, {"status": "new"}, {"status": "open"},
                                   {"client": "{theirs}"}, {"page": "2"}])
def test_the_case_list_shows_only_own_cases(client, world, as_client_user, query):
    query = {key: value.format(theirs=world.others.client_id) for key, value in query.items()}
    response = client.get("/client/cases", query_string=query)
    assert response.status_code == 200
    for case in (world.others, world.others_of_mine):
        assert case.reference not in response.text
        assert case.client.name not in response.text
    assert "Otto Anders" not in response.text


def test_the_dashboard_counts_only_own_cases(client, world, as_client_user):
    text = client.get("/client/").text
    assert "100,00" in text
    for leak in ("777", "200,00", "877,00"):
        assert leak not in text, "another client's money leaked into the figures"


# -- a debtor --------------------------------------------------------------------------

def test_no_debtor_route_opens_another_debtors_case(app, client, world, as_debtor):
    routes = case_routes(app, "debtor")
    assert routes, "no debtor route takes a case id any more: is this test still needed?"
    token = csrf_token(client.get("/pay/cases").text)
    for method, template in routes:
        response = try_route(client, method, template.format(case=world.others.id), token)
        assert response.status_code == 404, (method, template)
        assert world.others.reference not in response.text
    for own in (world.own, world.others_of_mine):
        assert client.get(f"/pay/cases/{own.id}").status_code == 200


def test_a_debtor_sees_all_own_cases_and_nobody_elses(client, world, as_debtor):
    text = client.get("/pay/cases").text
    assert world.own.reference in text
    assert world.others_of_mine.reference in text, "a debtor sees their cases at every client"
    assert world.others.reference not in text
    assert "Otto Anders" not in text
    assert "777" not in text


def test_a_debtor_session_opens_no_staff_or_client_page(client, world, as_debtor):
    for path in (f"/agency/cases/{world.own.id}", f"/client/cases/{world.own.id}"):
        assert client.get(path).status_code == 302


def test_another_clients_invoice_numbers_do_not_change_a_search(client, world, as_client_user):
    """Whether another client has an invoice numbered like the search must not show."""
    world.others.invoices[0].number = "MARIEKE"
    db.session.commit()
    found = results(client.get("/client/cases", query_string={"q": "marieke"}).text)
    assert f"/client/cases/{world.own.id}" in found, "the own debtor Marieke is still found"
