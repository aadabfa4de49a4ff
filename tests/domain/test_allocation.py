import pytest

from portal.domain.allocation import Allocation, allocate


@pytest.mark.parametrize(
    ("payment", "costs", "interest", "principal", "expected"),
    [
        # 300.00 - 150.00 costs - 35.29 interest = 114.71 to principal
        (300_00, 150_00, 35_29, 1_000_00, Allocation(150_00, 35_29, 114_71, 0)),
        # exact pay-off: 150.00 + 35.29 + 1,000.00 = 1,185.29
        (1_185_29, 150_00, 35_29, 1_000_00, Allocation(150_00, 35_29, 1_000_00, 0)),
        # overpaid by 14.71: kept as surplus
        (1_200_00, 150_00, 35_29, 1_000_00, Allocation(150_00, 35_29, 1_000_00, 14_71)),
        (0, 150_00, 35_29, 1_000_00, Allocation(0, 0, 0, 0)),
        # smaller than the costs: all of it goes to costs
        (100_00, 150_00, 35_29, 1_000_00, Allocation(100_00, 0, 0, 0)),
        # covers costs and part of the interest: 160.00 - 150.00 = 10.00
        (160_00, 150_00, 35_29, 1_000_00, Allocation(150_00, 10_00, 0, 0)),
        # nothing owed in a bucket: skip it
        (50_00, 0, 0, 1_000_00, Allocation(0, 0, 50_00, 0)),
        # nothing owed at all: the whole payment is surplus
        (25_00, 0, 0, 0, Allocation(0, 0, 0, 25_00)),
    ],
)
def test_allocate(payment, costs, interest, principal, expected):
    result = allocate(payment, costs=costs, interest=interest, principal=principal)
    assert result == expected
    assert result.total == payment  # never a cent lost


@pytest.mark.parametrize(
    "amounts",
    [
        (-1, 0, 0, 0),
        (100, -1, 0, 0),
        (100, 0, -1, 0),
        (100, 0, 0, -1),
    ],
)
def test_negative_amounts_are_refused(amounts):
    payment, costs, interest, principal = amounts
    with pytest.raises(ValueError):
        allocate(payment, costs=costs, interest=interest, principal=principal)


def test_allocation_is_frozen():
    result = allocate(10, costs=5, interest=0, principal=0)
    with pytest.raises(AttributeError):
        result.costs = 0
