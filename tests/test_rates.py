"""The admin's interest-rate table: shipped rates, added rates, and who may add them."""

from datetime import date
from decimal import Decimal

import pytest

from portal.domain.interest import statutory_interest
from portal.domain.rates import RateKind
from portal.extensions import db
from portal.models import InterestRate, Role
from portal.services import rates
from tests.pages import csrf_token

URL = "/agency/settings/interest-rates"


def _csrf(client, url=URL) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def test_an_added_rate_is_used_from_its_date_on(app, make):
    admin = make.user(Role.ADMIN)
    rates.add_rate(RateKind.CONSUMER, date(2030, 1, 1), Decimal("9.00"), "test", verified=True,
                   user=admin)
    table = rates.rate_table()
    assert table.rate_on("consumer", date(2030, 6, 1)) == Decimal("9.00")
    # 1,000.00 for the 365 days of 2030 at 9 % = 90.00
    assert statutory_interest(100_000, date(2030, 1, 1), date(2030, 12, 31), commercial=False,
                              rates=table) == 9_000


def test_an_added_rate_replaces_the_shipped_one_of_the_same_date(app, make):
    admin = make.user(Role.ADMIN)
    shipped = rates.rate_table().row_on("consumer", date(2025, 7, 1))
    assert not shipped.verified
    rates.add_rate(RateKind.CONSUMER, date(2025, 7, 1), Decimal("5.00"), "Stb. check",
                   verified=True, user=admin)
    row = rates.rate_table().row_on("consumer", date(2025, 8, 1))
    assert (row.rate_percent, row.verified) == (Decimal("5.00"), True)


def test_admin_adds_a_rate_through_the_page(app, client, make, login):
    admin = make.user(Role.ADMIN)
    db.session.commit()
    login(admin)
    response = client.post(URL, data={
        "csrf_token": _csrf(client), "kind": "commercial", "valid_from": "2031-01-01",
        "rate_percent": "10.65", "source": "Stb. 2030, 1", "verified": "y",
    })
    assert response.status_code == 302
    saved = db.session.scalars(db.select(InterestRate)).one()
    assert (saved.kind, saved.valid_from, saved.rate_percent) == (
        "commercial", date(2031, 1, 1), Decimal("10.650"))
    page = client.get(URL).get_data(as_text=True)
    assert "10,65 %" in page and "Stb. 2030, 1" in page  # Dutch: a decimal comma


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"rate_percent": "45", "source": "x"}, "Number must be between 0 and 30"),
        ({"rate_percent": "5", "source": ""}, "This field is required"),
        ({"rate_percent": "abc", "source": "x"}, "Not a valid decimal value"),
    ],
)
def test_bad_rates_are_refused_with_a_message(app, client, make, login, form, message):
    login(make.user(Role.ADMIN, language="en"))
    db.session.commit()
    data = {"csrf_token": _csrf(client), "kind": "consumer", "valid_from": "2031-01-01", **form}
    response = client.post(URL, data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(db.select(InterestRate)).all() == []


def test_the_same_date_twice_is_refused(app, client, make, login):
    admin = make.user(Role.ADMIN, language="en")
    rates.add_rate(RateKind.CONSUMER, date(2031, 1, 1), Decimal("4"), "x", verified=False,
                   user=admin)
    db.session.commit()
    login(admin)
    response = client.post(URL, data={"csrf_token": _csrf(client), "kind": "consumer",
                                      "valid_from": "2031-01-01", "rate_percent": "5",
                                      "source": "y"})
    assert response.status_code == 422
    assert "already added" in response.get_data(as_text=True)
    assert len(rates.added_rates()) == 1


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER])
def test_only_admins_open_the_rates(app, client, make, login, role):
    login(make.user(role))
    db.session.commit()
    assert client.get(URL).status_code == 403
