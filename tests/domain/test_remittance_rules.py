"""The commission split of a remittance: expectations worked out by hand in the tables."""

from itertools import product

import pytest

from portal.domain.remittance import AGENCY, CLIENT, Collected, Terms, settle

C, A = CLIENT, AGENCY


@pytest.mark.parametrize(
    ("collected", "terms", "expected"),
    [
        # collected (principal, interest, costs, fees); terms (bp, VAT %, interest to, costs to);
        # expected (commission, VAT, interest to client, costs to client, payout, agency income)
        ((3333, 0, 0, 0), (1500, 21, C, A), (500, 105, 0, 0, 2728, 605)),  # 499.95 -> 500
        ((3330, 0, 0, 0), (1500, 21, C, A), (500, 105, 0, 0, 2725, 605)),  # 499.5 -> 500
        ((3329, 0, 0, 0), (1500, 21, C, A), (499, 105, 0, 0, 2725, 604)),  # 499.35 -> 499,
        # and VAT 104.79 -> 105
        ((500, 0, 0, 0), (1000, 21, C, A), (50, 11, 0, 0, 439, 61)),  # VAT 10.5 -> 11
        ((100, 0, 0, 0), (1000, 21, C, A), (10, 2, 0, 0, 88, 12)),  # VAT 2.1 -> 2
        ((4999, 0, 0, 0), (1, 21, C, A), (0, 0, 0, 0, 4999, 0)),  # 0.4999 -> 0
        ((5000, 0, 0, 0), (1, 21, C, A), (1, 0, 0, 0, 4999, 1)),  # 0.5 -> 1, VAT 0.21 -> 0
        ((9999, 0, 0, 0), (1234, 21, C, A), (1234, 259, 0, 0, 8506, 1493)),  # 1233.8766, 259.14
        ((10000, 0, 0, 0), (1250, 0, C, A), (1250, 0, 0, 0, 8750, 1250)),  # no VAT
        ((1000, 0, 0, 0), (1000, 100, C, A), (100, 100, 0, 0, 800, 200)),  # VAT 100 %
        # 0 %: the client gets everything its terms give it
        ((12345, 55, 0, 0), (0, 21, C, A), (0, 0, 55, 0, 12400, 0)),
        ((12345, 55, 700, 25), (0, 21, C, C), (0, 0, 55, 725, 13125, 0)),
        # 100 %: all principal is commission, and the VAT on it comes out of the rest
        ((20000, 0, 0, 0), (10000, 21, C, A), (20000, 4200, 0, 0, -4200, 24200)),
        ((20000, 0, 3000, 0), (10000, 21, C, C), (20000, 4200, 0, 3000, -1200, 24200)),
        # interest and costs to either side
        ((10000, 250, 1500, 0), (1500, 21, C, A), (1500, 315, 250, 0, 8435, 3315)),
        ((10000, 250, 1500, 100), (1500, 21, A, C), (1500, 315, 0, 1600, 9785, 2065)),
        ((10000, 250, 1500, 100), (1500, 21, A, A), (1500, 315, 0, 0, 8185, 3665)),
        ((10000, 250, 1500, 100), (1500, 21, C, C), (1500, 315, 250, 1600, 10035, 1815)),
        ((0, 300, 700, 50), (1500, 21, A, A), (0, 0, 0, 0, 0, 1050)),
        ((0, 300, 700, 50), (1500, 21, C, C), (0, 0, 300, 750, 1050, 0)),
        # a reversal: negative collected mirrors a payment (half away from zero)
        ((-3333, 0, 0, 0), (1500, 21, C, A), (-500, -105, 0, 0, -2728, -605)),
        ((-3330, 0, 0, 0), (1500, 21, C, A), (-500, -105, 0, 0, -2725, -605)),
        ((-1000, 200, 0, 0), (1500, 21, C, A), (-150, -32, 200, 0, -618, -182)),  # VAT -31.5
        ((-1000, 0, -400, 0), (1500, 21, C, C), (-150, -32, 0, -400, -1218, -182)),
        ((0, 0, 0, 0), (1500, 21, C, A), (0, 0, 0, 0, 0, 0)),
    ],
)
def test_settle(collected, terms, expected):
    settlement = settle(Collected(*collected), Terms(*terms))
    assert (settlement.commission, settlement.commission_vat, settlement.interest_to_client,
            settlement.costs_to_client, settlement.payout,
            settlement.agency_income) == expected
    assert settlement.collected == Collected(*collected)


def test_terms_default_interest_to_client_and_costs_to_agency():
    terms = Terms(commission_bp=1500, vat_percent=21)
    assert (terms.interest_to, terms.costs_to) == (CLIENT, AGENCY)


def test_collected_total():
    assert Collected(principal=100, interest=20, costs=3, fees=4).total == 127
    assert Collected().total == 0


@pytest.mark.parametrize(
    "terms",
    [
        {"commission_bp": -1, "vat_percent": 21},
        {"commission_bp": 10_001, "vat_percent": 21},
        {"commission_bp": 1500, "vat_percent": -1},
        {"commission_bp": 1500, "vat_percent": 101},
        {"commission_bp": 1500, "vat_percent": 21, "interest_to": "bank"},
        {"commission_bp": 1500, "vat_percent": 21, "costs_to": ""},
        {"commission_bp": 1500, "vat_percent": 21, "costs_to": "Client"},
    ],
)
def test_invalid_terms_refused(terms):
    with pytest.raises(ValueError):
        Terms(**terms)


@pytest.mark.parametrize(
    "terms",
    [(0, 0), (10_000, 100), (1, 1)],
)
def test_terms_at_the_limits_are_accepted(terms):
    assert Terms(*terms).commission_bp == terms[0]


def _within_half_away_from_zero(rounded: int, exact_numerator: int, denominator: int) -> bool:
    """`rounded` is exact_numerator / denominator rounded half away from zero (all integers)."""
    difference = rounded * denominator - exact_numerator  # in 1/denominator cents
    if 2 * abs(difference) < denominator:
        return True
    return 2 * abs(difference) == denominator and (difference > 0) == (exact_numerator > 0)


PRINCIPALS = [-3333, -3330, -1, 0, 1, 49, 50, 3330, 3333, 100_000, 12_345_678]  # 3330 and 50:
# exact halves (15 % of 3330 = 499.5; 21 % VAT on a 100 % commission of 50 = 10.5)
INTERESTS = [0, 17, -5]
COSTS = [0, 4000]
FEES = [0, 1]
COMMISSIONS = [0, 1, 1500, 3333, 10_000]
VATS = [0, 9, 21, 100]
SIDES = [CLIENT, AGENCY]


def test_every_cent_ends_up_on_one_side():
    """Over many combinations: the payout and what the agency keeps (commission, its VAT, and
    interest and costs its terms give it) add up to what was collected, and each rounding is
    to the nearest cent, an exact half away from zero."""
    cases = 0
    for principal, interest, costs, fees, bp, vat, interest_to, costs_to in product(
            PRINCIPALS, INTERESTS, COSTS, FEES, COMMISSIONS, VATS, SIDES, SIDES):
        collected = Collected(principal, interest, costs, fees)
        s = settle(collected, Terms(bp, vat, interest_to, costs_to))
        kept_interest = interest if interest_to == AGENCY else 0
        kept_costs = costs + fees if costs_to == AGENCY else 0
        case = (collected, bp, vat, interest_to, costs_to)
        assert s.payout + s.agency_income == collected.total, case
        assert (s.payout + s.commission + s.commission_vat + kept_interest + kept_costs
                == principal + interest + costs + fees), case
        assert s.interest_to_client == interest - kept_interest, case
        assert s.costs_to_client == costs + fees - kept_costs, case
        assert _within_half_away_from_zero(s.commission, principal * bp, 10_000), case
        assert _within_half_away_from_zero(s.commission_vat, s.commission * vat, 100), case
        cases += 1
    assert cases == 10_560


@pytest.mark.parametrize(
    ("rounded", "numerator", "denominator", "expected"),
    [(500, 4_999_500, 10_000, True), (499, 4_999_500, 10_000, False),
     (500, 4_995_000, 10_000, True), (499, 4_995_000, 10_000, False),  # a tie goes up
     (-500, -4_995_000, 10_000, True), (-499, -4_995_000, 10_000, False),  # and down
     (499, 4_993_500, 10_000, True), (500, 4_993_500, 10_000, False), (0, 0, 100, True)],
)
def test_the_rounding_check_itself(rounded, numerator, denominator, expected):
    # the invariant test above leans on this helper, so it must be able to say no
    assert _within_half_away_from_zero(rounded, numerator, denominator) is expected
