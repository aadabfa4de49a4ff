"""Each page renders for its reader with the right figures; the case lists search, filter,
page, and answer htmx with only their results.

Expected figures are summed here from the entries the test books, and formatted with Babel
for the page's language, so a figure on a page is checked against the ledger, not against
the code that printed it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from portal.extensions import db
from portal.models import Bucket, CaseStatus, EntryCause, Role
from portal.services import ledger
from tests.pages import csrf_token

BOOKED_ON = date(2026, 3, 20)
INVOICES = (350_50, 149_95)
# What the test books on top of the invoices: (bucket, cents, cause).
BOOKINGS = [
    (Bucket.INTEREST, 12_34, EntryCause.INTEREST),
    (Bucket.COSTS, 75_00, EntryCause.COLLECTION_COSTS),
    (Bucket.PRINCIPAL, -20_00, EntryCause.CREDIT_NOTE),
    (Bucket.COSTS, -75_00, EntryCause.PAYMENT),
    (Bucket.INTEREST, -12_34, EntryCause.PAYMENT),
    (Bucket.PRINCIPAL, -30_00, EntryCause.PAYMENT),
]


def eur(cents: int, locale: str) -> str:
    return format_currency(Decimal(cents) / 100, "EUR", locale=locale)


def expected_figures() -> dict[str, int]:
    """The figures a reader must see, summed from INVOICES and BOOKINGS."""
    charged = [(bucket, cents) for bucket, cents, cause in BOOKINGS
               if cause != EntryCause.PAYMENT]
    return {
        "principal": sum(INVOICES) + sum(c for b, c in charged if b == Bucket.PRINCIPAL),
        "interest": sum(c for b, c in charged if b == Bucket.INTEREST),
        "costs": sum(c for b, c in charged if b == Bucket.COSTS),
        "paid": -sum(cents for _, cents, cause in BOOKINGS if cause == EntryCause.PAYMENT),
        "total": sum(INVOICES) + sum(cents for _, cents, _ in BOOKINGS),
    }


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def block(html: str, css_class: str) -> str:
    """The first <dl class=...> of a page: the money breakdown."""
    return re.search(rf'<dl class="{css_class}">(.*?)</dl>', html, re.S).group(1)


def total_of(dl: str) -> str:
    return re.search(r'<div class="total">.*?<dd>(.*?)</dd>', dl, re.S).group(1)


def case_ids(html: str, audience: str) -> list[int]:
    """The cases a list shows, in order, read from its row links."""
    results = html.split('id="results"', 1)[-1]
    return [int(i) for i in re.findall(rf'href="/{audience}/cases/(\d+)"', results)]


@pytest.fixture
def booked_case(make):
    """A case with two invoices, interest, costs, a credit note and three payments."""
    case, _ = make.case(amounts=INVOICES, debtor=make.debtor(name="Jansen Installatie"))
    for bucket, cents, cause in BOOKINGS:
        ledger.book(case, bucket, cents, cause, f"{cause} {cents}", booked_on=BOOKED_ON)
    db.session.commit()
    return case


def sign_in_debtor(test_client, debtor_id: int) -> None:
    with test_client.session_transaction() as session:
        session["debtor_id"] = debtor_id


# -- one case, every audience ----------------------------------------------------------

def test_the_agency_case_page_shows_the_ledger_and_its_balance(client, make, login, booked_case):
    login(make.user(Role.CALLER))
    db.session.commit()
    html = client.get(f"/agency/cases/{booked_case.id}").text
    money = block(html, "money")
    figures = expected_figures()
    for name in ("principal", "interest", "costs", "paid"):
        assert eur(figures[name], "nl") in money, name
    assert total_of(money) == eur(figures["total"], "nl")
    for cents in (*INVOICES, *(cents for _, cents, _ in BOOKINGS)):
        assert eur(cents, "nl") in html, "every ledger entry is listed"
    assert html_lang(html) == "nl"


def test_the_client_case_page_shows_the_balance(client, make, login, booked_case):
    login(make.user(Role.CLIENT, client=booked_case.client))
    db.session.commit()
    html = client.get(f"/client/cases/{booked_case.id}").text
    assert total_of(block(html, "money")) == eur(expected_figures()["total"], "nl")
    assert booked_case.invoices[0].number in html


@pytest.mark.parametrize("page", ["/pay/cases", "/pay/cases/{case}"])
def test_a_dutch_debtor_reads_the_breakdown_in_dutch(client, booked_case, page):
    sign_in_debtor(client, booked_case.debtor_id)
    html = client.get(page.format(case=booked_case.id)).text
    assert html_lang(html) == "nl"
    breakdown = block(html, "breakdown")
    for name, cents in expected_figures().items():
        assert eur(cents, "nl") in breakdown, name
    assert total_of(breakdown) == eur(expected_figures()["total"], "nl")
    assert "450,45" in breakdown, "worked out by hand: 500.45 + 12.34 + 75 - 20 - 117.34"


def test_the_language_switch_turns_the_debtor_pages_english(client, booked_case):
    sign_in_debtor(client, booked_case.debtor_id)
    token = csrf_token(client.get("/pay/cases").text)
    client.post("/language/en", data={"csrf_token": token, "next": "/pay/cases"})
    html = client.get("/pay/cases").text
    assert html_lang(html) == "en"
    breakdown = block(html, "breakdown")
    assert total_of(breakdown) == eur(expected_figures()["total"], "en")
    assert "Left to pay" in breakdown
    assert eur(expected_figures()["total"], "en") in html.split("<dl", 1)[0], "the lead line"


def test_an_english_debtor_reads_english_even_on_a_dutch_browser(client, make, booked_case):
    booked_case.debtor.language = "en"
    db.session.commit()
    sign_in_debtor(client, booked_case.debtor_id)
    html = client.get("/pay/cases", headers={"Accept-Language": "nl"}).text
    assert html_lang(html) == "en"
    assert total_of(block(html, "breakdown")) == eur(expected_figures()["total"], "en")
    assert "€450.45" in html, "worked out by hand: 500.45 + 12.34 + 75 - 20 - 117.34"


def test_the_debtor_case_page_lists_the_invoices(client, booked_case):
    sign_in_debtor(client, booked_case.debtor_id)
    html = client.get(f"/pay/cases/{booked_case.id}").text
    for invoice in booked_case.invoices:
        assert invoice.number in html
        assert eur(invoice.amount_cents, "nl") in html


# -- dashboards ------------------------------------------------------------------------

@pytest.fixture
def portfolio(make):
    """Two clients: ours has two open cases and a paid one; theirs has one open case."""
    ours, theirs = make.client(), make.client()
    open_a, _ = make.case(client=ours, amounts=(100_00,))
    open_b, _ = make.case(client=ours, amounts=(250_00, 50_00))
    paid, _ = make.case(client=ours, amounts=(80_00,))
    ledger.book(paid, Bucket.PRINCIPAL, -80_00, EntryCause.PAYMENT, "paid",
                booked_on=BOOKED_ON)
    ledger.book(open_b, Bucket.PRINCIPAL, -25_00, EntryCause.PAYMENT, "part",
                booked_on=BOOKED_ON)
    paid.status = CaseStatus.PAID
    make.case(client=theirs, amounts=(1_000_00,))
    db.session.commit()
    return ours


def stat_values(html: str) -> list[str]:
    return re.findall(r'class="stat-value">(.*?)</span>', html)


def test_the_agency_dashboard_adds_up_the_open_cases(client, make, login, portfolio):
    login(make.user(Role.SUPERVISOR))
    db.session.commit()
    stats = stat_values(client.get("/agency/").text)
    outstanding = 100_00 + (250_00 + 50_00 - 25_00) + 1_000_00  # the paid case is not open
    assert eur(outstanding, "nl") in stats
    assert "3" in stats, "three open cases"
    assert "2" in stats, "two clients"


def test_the_client_dashboard_adds_up_only_its_own_cases(client, make, login, portfolio):
    login(make.user(Role.CLIENT, client=portfolio))
    db.session.commit()
    stats = stat_values(client.get("/client/").text)
    assert eur(100_00 + 250_00 + 50_00 - 25_00, "nl") in stats, "outstanding"
    assert eur(80_00 + 25_00, "nl") in stats, "collected"
    assert "2" in stats, "two open cases"


# -- the agency's case list ------------------------------------------------------------

@pytest.fixture
def three_cases(make):
    """Three cases at two clients, each findable by something of its own."""
    ours, theirs = make.client("Ours B.V."), make.client("Theirs B.V.")
    first, _ = make.case(client=ours, debtor=make.debtor(name="Anna de Vries"))
    second, _ = make.case(client=ours, debtor=make.debtor(name="Bakkerij Bos"))
    third, _ = make.case(client=theirs, debtor=make.debtor(name="Carla Claes"))
    second.status = CaseStatus.DISPUTED
    third.status = CaseStatus.PAID
    db.session.commit()
    return first, second, third


@pytest.fixture
def staff(client, make, login):
    login(make.user(Role.ADMIN))
    db.session.commit()


SEARCHES = {
    "reference": lambda case: case.reference,
    "reference without zeros, lower case": lambda case: re.sub(r"-0+", "-", case.reference).lower(),
    "debtor name": lambda case: case.debtor.name,
    "part of the name, any case": lambda case: case.debtor.name.split()[-1].upper(),
    "invoice number": lambda case: case.invoices[0].number,
    "invoice number in lower case": lambda case: case.invoices[0].number.lower(),
}


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize("target", [0, 1, 2])
def test_agency_search_finds_exactly_the_case(client, staff, three_cases, search, target):
    case = three_cases[target]
    html = client.get("/agency/cases", query_string={"q": SEARCHES[search](case)}).text
    assert case_ids(html, "agency") == [case.id]


@pytest.mark.parametrize(("query", "expected"), [
    ({}, [2, 1, 0]),
    ({"client": "{ours}"}, [1, 0]),
    ({"client": "{theirs}"}, [2]),
    ({"status": "disputed"}, [1]),
    ({"status": "paid"}, [2]),
    ({"status": "open"}, [1, 0]),
    ({"status": "open", "client": "{theirs}"}, []),
    ({"status": "no-such-status"}, [2, 1, 0]),
])
def test_agency_filters(client, staff, three_cases, query, expected):
    ids = {"ours": three_cases[0].client_id, "theirs": three_cases[2].client_id}
    query = {key: value.format(**ids) for key, value in query.items()}
    html = client.get("/agency/cases", query_string=query).text
    assert case_ids(html, "agency") == [three_cases[i].id for i in expected]


def test_thirty_cases_make_two_pages(app, client, staff, make):
    client_record = make.client()
    made = {make.case(client=client_record)[0].id for _ in range(30)}
    db.session.commit()
    per_page = app.config["CASES_PER_PAGE"]
    first = client.get("/agency/cases").text
    second = client.get("/agency/cases", query_string={"page": 2}).text
    assert len(case_ids(first, "agency")) == per_page
    assert len(case_ids(second, "agency")) == 30 - per_page
    assert set(case_ids(first, "agency")) | set(case_ids(second, "agency")) == made
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert case_ids(client.get("/agency/cases?page=3").text, "agency") == []


def test_the_page_links_keep_the_filters(client, staff, make):
    ours = make.client()
    for _ in range(30):
        make.case(client=ours)
    make.case()
    db.session.commit()
    html = client.get("/agency/cases", query_string={"client": ours.id}).text
    next_link = re.search(r'<a href="([^"]+)"[^>]*rel="next"', html).group(1)
    assert f"client={ours.id}" in next_link
    assert "page=2" in next_link


# -- htmx fragments --------------------------------------------------------------------

@pytest.mark.parametrize("audience", ["agency", "client"])
def test_an_htmx_request_gets_only_the_results(client, make, login, three_cases, audience):
    user = make.user(Role.CLIENT, client=three_cases[0].client) if audience == "client" \
        else make.user(Role.ADMIN)
    login(user)
    db.session.commit()
    query = {"q": three_cases[0].debtor.name}
    fragment = client.get(f"/{audience}/cases", query_string=query,
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "HX-Request" in fragment.headers["Vary"]
    assert "<html" not in fragment.text
    assert 'role="search"' not in fragment.text, "the filter form stays put"
    assert case_ids(fragment.text, audience) == [three_cases[0].id]
    page = client.get(f"/{audience}/cases", query_string=query)
    assert "<html" in page.text
    assert "HX-Request" in page.headers["Vary"]


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_boosted_links_and_history_restores_get_the_whole_page(client, staff, header):
    response = client.get("/agency/cases", headers={"HX-Request": "true", header: "true"})
    assert "<html" in response.text
    assert "HX-Request" in response.headers["Vary"]
