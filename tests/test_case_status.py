"""A case's status follows its pauses; settled cases stay settled."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.models import (
    Arrangement,
    ArrangementStatus,
    CaseStatus,
    Dispute,
    DisputeReason,
    DisputeStatus,
)
from portal.services import case_status

TODAY = date(2026, 11, 23)


def _dispute(case, status=DisputeStatus.OPEN):
    db.session.add(Dispute(case_id=case.id, reason=DisputeReason.OTHER, description="x",
                           status=status))


def _arrangement(case, status=ArrangementStatus.ACTIVE):
    db.session.add(Arrangement(case_id=case.id, status=status, total_cents=10000,
                               instalment_count=2, start_on=TODAY))


@pytest.mark.parametrize(
    ("start", "setup", "expected"),
    [
        (CaseStatus.ACTIVE, [], CaseStatus.ACTIVE),
        (CaseStatus.NEW, [], CaseStatus.NEW),
        (CaseStatus.DISPUTED, [], CaseStatus.ACTIVE),  # the dispute ended: resume
        (CaseStatus.ACTIVE, ["dispute"], CaseStatus.DISPUTED),
        (CaseStatus.ACTIVE, ["resolved_dispute"], CaseStatus.ACTIVE),
        (CaseStatus.ACTIVE, ["arrangement"], CaseStatus.ARRANGEMENT),
        (CaseStatus.ACTIVE, ["broken_arrangement"], CaseStatus.ACTIVE),
        (CaseStatus.ARRANGEMENT, ["dispute", "arrangement"], CaseStatus.DISPUTED),
        (CaseStatus.ACTIVE, ["hold_today"], CaseStatus.ON_HOLD),
        (CaseStatus.ON_HOLD, ["hold_ended"], CaseStatus.ACTIVE),
        (CaseStatus.ACTIVE, ["promise_today"], CaseStatus.PROMISED),
        (CaseStatus.ACTIVE, ["hold_today", "promise_today"], CaseStatus.ON_HOLD),
        (CaseStatus.NEW, ["promise_today"], CaseStatus.PROMISED),
        (CaseStatus.PAID, ["dispute"], CaseStatus.PAID),
        (CaseStatus.LEGAL, ["arrangement"], CaseStatus.LEGAL),
        (CaseStatus.WITHDRAWN, [], CaseStatus.WITHDRAWN),
    ],
)
def test_refresh(app, make, start, setup, expected):
    case, _code = make.case()
    case.status = start
    for item in setup:
        if item == "dispute":
            _dispute(case)
        elif item == "resolved_dispute":
            _dispute(case, DisputeStatus.RESOLVED)
        elif item == "arrangement":
            _arrangement(case)
        elif item == "broken_arrangement":
            _arrangement(case, ArrangementStatus.BROKEN)
        elif item == "hold_today":
            case.on_hold_until = TODAY
        elif item == "hold_ended":
            case.on_hold_until = TODAY - timedelta(days=1)
        elif item == "promise_today":
            case.promise_until = TODAY
    db.session.flush()
    assert case_status.refresh(case, TODAY) == expected
    assert case.status == expected
