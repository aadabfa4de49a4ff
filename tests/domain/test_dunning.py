"""Which dunning step is due, with every date counted by hand in the comments.

The workflow under test, for invoices due Friday 2024-03-01:
  1 email reminder   3 days BEFORE the due date  -> Tue 27 Feb
  2 letter           14 days after step 1        -> Tue 12 March (2024 is a leap year)
  3 14-day letter    7 days after step 2         -> Tue 19 March
  4 final demand     19 days after step 3, charges costs
  5 legal handover   14 days after step 4
"""

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

import pytest

from portal.domain.deadlines import HolidayRules, costs_chargeable_from
from portal.domain.dunning import (
    MIN_DAYS_TO_COSTS,
    NO_FOURTEEN_DAY_LETTER,
    TERM_RUNNING,
    CaseState,
    Channel,
    Decision,
    NoticeGroup,
    SkipReason,
    Step,
    StepAction,
    decide,
    due_on,
    group_key,
    may_charge_costs,
    next_step,
    resolve_channel,
    workflow_problems,
)

D = date.fromisoformat
A = StepAction

S1 = Step(position=1, action=A.EMAIL_REMINDER, delay_days=-3, channel=Channel.EMAIL)
S2 = Step(position=2, action=A.LETTER, delay_days=14, channel=Channel.LETTER, charges_interest=True)
S3 = Step(
    position=3,
    action=A.FOURTEEN_DAY_LETTER,
    delay_days=7,
    channel=Channel.LETTER,
    charges_interest=True,
)
S4 = Step(
    position=4,
    action=A.FINAL_DEMAND,
    delay_days=19,
    channel=Channel.EMAIL,
    charges_costs=True,
    charges_interest=True,
)
S5 = Step(position=5, action=A.LEGAL_HANDOVER, delay_days=14, channel=Channel.LETTER)
WORKFLOW = (S1, S2, S3, S4, S5)

BASE = CaseState(oldest_due_date=D("2024-03-01"))
AFTER_1 = {"last_position": 1, "last_step_on": D("2024-02-27")}
# The 14-day letter was made on Thu 7 March and posted Fri 8 March: received Tue 12, term
# 13-26 March, costs from Wed 27. The final demand falls due 7 March + 19 = Tue 26 March.
AT_FINAL = {
    "last_position": 3,
    "last_step_on": D("2024-03-07"),
    "fourteen_day_letter_posted_on": D("2024-03-08"),
}
NO_LETTER = {**AT_FINAL, "fourteen_day_letter_posted_on": None}


def _decide(changes, today):
    return decide(WORKFLOW, replace(BASE, **changes), D(today))


@pytest.mark.parametrize(
    ("changes", "today", "expected"),
    [
        pytest.param(
            {},
            "2024-02-27",
            Decision(S1, D("2024-02-27"), channel=Channel.EMAIL),
            id="first step 3 days before the due date",
        ),
        pytest.param(
            {},
            "2024-02-26",
            Decision(None, D("2024-02-27"), SkipReason.NOT_DUE),
            id="first step not yet due",
        ),
        pytest.param(
            {},
            "2024-03-05",
            Decision(S1, D("2024-02-27"), channel=Channel.EMAIL),
            id="overdue step is taken late",
        ),
        pytest.param(
            AFTER_1,
            "2024-03-11",
            Decision(None, D("2024-03-12"), SkipReason.NOT_DUE),
            id="second step the day before",
        ),
        pytest.param(
            AFTER_1,
            "2024-03-12",
            Decision(S2, D("2024-03-12"), channel=Channel.LETTER, charge_interest=True),
            id="second step due today",
        ),
        pytest.param(
            {"last_position": 2, "last_step_on": D("2024-03-12")},
            "2024-03-19",
            Decision(S3, D("2024-03-19"), channel=Channel.LETTER, charge_interest=True),
            id="14-day letter",
        ),
        pytest.param(
            AT_FINAL,
            "2024-03-26",
            Decision(
                S4,
                D("2024-03-26"),
                channel=Channel.EMAIL,
                charge_costs=False,
                charge_interest=True,
                warning=TERM_RUNNING,
            ),
            id="consumer on the last day of the term: no costs",
        ),
        pytest.param(
            AT_FINAL,
            "2024-03-27",
            Decision(
                S4, D("2024-03-26"), channel=Channel.EMAIL, charge_costs=True, charge_interest=True
            ),
            id="consumer the day after the term: costs",
        ),
        pytest.param(
            NO_LETTER,
            "2024-03-27",
            Decision(
                S4,
                D("2024-03-26"),
                channel=Channel.EMAIL,
                charge_costs=False,
                charge_interest=True,
                warning=NO_FOURTEEN_DAY_LETTER,
            ),
            id="consumer without a 14-day letter: no costs, a warning",
        ),
        pytest.param(
            {**NO_LETTER, "is_consumer": False},
            "2024-03-26",
            Decision(
                S4, D("2024-03-26"), channel=Channel.EMAIL, charge_costs=True, charge_interest=True
            ),
            id="business: costs at the step, no letter needed",
        ),
        pytest.param(
            {"has_email": False},
            "2024-02-27",
            Decision(S1, D("2024-02-27"), channel=Channel.LETTER),
            id="no email address: the fallback letter",
        ),
        pytest.param(
            {"last_position": 5, "last_step_on": D("2024-04-30")},
            "2024-06-01",
            Decision(None, None, SkipReason.FINISHED),
            id="workflow finished",
        ),
    ],
)
def test_decide(changes, today, expected):
    assert _decide(changes, today) == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "paid"}, SkipReason.CLOSED),
        ({"status": "closed"}, SkipReason.CLOSED),
        ({"status": "withdrawn"}, SkipReason.CLOSED),
        ({"status": "legal"}, SkipReason.CLOSED),
        ({"disputed": True}, SkipReason.DISPUTED),
        ({"status": "disputed"}, SkipReason.DISPUTED),
        ({"arrangement_active": True}, SkipReason.ARRANGEMENT),
        ({"status": "arrangement"}, SkipReason.ARRANGEMENT),
        ({"promise_until": D("2024-02-27")}, SkipReason.PROMISE),  # the promised day itself
        ({"on_hold_until": D("2024-02-27")}, SkipReason.ON_HOLD),  # up to and including
        ({"status": "on_hold"}, SkipReason.ON_HOLD),  # no end date: until lifted
        ({"do_not_contact": True}, SkipReason.DO_NOT_CONTACT),
        # The first reason in the order wins.
        ({"status": "paid", "disputed": True}, SkipReason.CLOSED),
        ({"disputed": True, "do_not_contact": True}, SkipReason.DISPUTED),
        ({"promise_until": D("2024-03-31"), "on_hold_until": D("2024-03-31")}, SkipReason.PROMISE),
    ],
)
def test_skip_reasons_on_a_due_day(changes, reason):
    # Step 1 is due on 2024-02-27; the pause keeps it, and its date, waiting.
    assert _decide(changes, "2024-02-27") == Decision(None, D("2024-02-27"), reason)


@pytest.mark.parametrize(
    "changes",
    [
        {"promise_until": D("2024-02-26")},  # the promise was due yesterday and not kept
        {"on_hold_until": D("2024-02-26")},  # the hold ended yesterday
        {"status": "new"},
        {"status": "promised"},  # the status alone does not pause: the promise's date does
    ],
)
def test_an_ended_pause_does_not_skip(changes):
    assert _decide(changes, "2024-02-27").step == S1


def test_a_pause_outranks_not_due_and_finished():
    assert _decide({"disputed": True}, "2024-02-01").skip_reason is SkipReason.DISPUTED
    finished = {"last_position": 5, "last_step_on": D("2024-04-30"), "disputed": True}
    assert _decide(finished, "2024-06-01").skip_reason is SkipReason.DISPUTED


def test_a_paused_case_resumes_where_it_stopped():
    # Step 2 falls due 12 March; the debtor disputes from then until the end of April.
    state = replace(BASE, **AFTER_1, disputed=True)
    paused_days = [D("2024-03-12") + timedelta(days=n) for n in range(50)]
    decisions = {decide(WORKFLOW, state, day) for day in paused_days}
    assert decisions == {Decision(None, D("2024-03-12"), SkipReason.DISPUTED)}
    resumed = decide(WORKFLOW, replace(state, disputed=False), D("2024-05-01"))
    assert resumed == Decision(S2, D("2024-03-12"), channel=Channel.LETTER, charge_interest=True)


def test_next_step_and_due_on_follow_the_positions():
    assert [
        next_step(WORKFLOW, replace(BASE, last_position=n, last_step_on=D("2024-03-01")))
        for n in range(6)
    ] == [S1, S2, S3, S4, S5, None]
    # After step 3 on 7 March: 7 + 19 = 26 March.
    assert due_on(WORKFLOW, replace(BASE, **AT_FINAL)) == D("2024-03-26")
    assert due_on(WORKFLOW, replace(BASE, last_position=5, last_step_on=D("2024-03-01"))) is None


def test_a_deleted_step_is_passed_over():
    steps = (S3, S1)  # position 2 was deleted; the order given does not matter either
    state = replace(BASE, **AFTER_1)
    assert next_step(steps, state) == S3
    assert due_on(steps, state) == D("2024-03-05")  # 27 Feb + 7 (2024 has a 29 February)


@pytest.mark.parametrize(
    ("step", "has_email", "channel"),
    [
        (S1, True, Channel.EMAIL),
        (S1, False, Channel.LETTER),
        (S2, False, Channel.LETTER),  # a letter needs no email
        (replace(S1, fallback_channel=None), False, None),  # nothing to send to
        (replace(S1, fallback_channel=None), True, Channel.EMAIL),
    ],
)
def test_resolve_channel(step, has_email, channel):
    assert resolve_channel(step, has_email=has_email) is channel


def test_no_fallback_still_decides_the_step():
    steps = (replace(S1, fallback_channel=None),)
    decision = decide(steps, replace(BASE, has_email=False), D("2024-02-27"))
    assert (decision.step, decision.channel) == (steps[0], None)


@pytest.mark.parametrize(
    ("changes", "today", "kwargs", "allowed"),
    [
        ({"fourteen_day_letter_posted_on": None}, "2030-01-01", {}, False),
        ({"fourteen_day_letter_posted_on": D("2024-03-08")}, "2024-03-26", {}, False),
        ({"fourteen_day_letter_posted_on": D("2024-03-08")}, "2024-03-27", {}, True),
        ({"is_consumer": False}, "2024-01-01", {}, True),
        # Posted Thu 7 March: received Sat 9, + 14 = Sat 23, extended to Mon 25.
        ({"fourteen_day_letter_posted_on": D("2024-03-07")}, "2024-03-25", {}, False),
        ({"fourteen_day_letter_posted_on": D("2024-03-07")}, "2024-03-26", {}, True),
        (
            {"fourteen_day_letter_posted_on": D("2024-03-07")},
            "2024-03-24",
            {"extend_to_working_day": False},
            True,
        ),
        # Posted Wed 13 March: received Fri 15, + 14 = Good Friday 29, extended to Tue 2 April;
        # with the post's calendar Good Friday is a working day and costs start Sat 30.
        ({"fourteen_day_letter_posted_on": D("2024-03-13")}, "2024-03-30", {}, False),
        (
            {"fourteen_day_letter_posted_on": D("2024-03-13")},
            "2024-03-30",
            {"rules": HolidayRules(good_friday=False)},
            True,
        ),
    ],
)
def test_may_charge_costs(changes, today, kwargs, allowed):
    assert may_charge_costs(replace(BASE, **changes), D(today), **kwargs) is allowed


def test_decide_passes_the_term_settings_on():
    # Letter made Wed 6 March, posted Thu 7: the final demand falls due 6 + 19 = Mon 25.
    # Its term ends Sat 23 (costs from Sun 24), or Mon 25 with the Atw extension (from Tue 26).
    state = replace(
        BASE,
        last_position=3,
        last_step_on=D("2024-03-06"),
        fourteen_day_letter_posted_on=D("2024-03-07"),
    )
    assert not decide(WORKFLOW, state, D("2024-03-25")).charge_costs
    assert decide(WORKFLOW, state, D("2024-03-25"), extend_to_working_day=False).charge_costs


def test_min_days_to_costs_is_the_shortest_term_in_three_years():
    posted = [D("2024-01-01") + timedelta(days=n) for n in range(3 * 365)]
    shortest = min((costs_chargeable_from(day) - day).days for day in posted)
    assert shortest == MIN_DAYS_TO_COSTS == 17


def test_group_key_puts_a_debtors_cases_of_one_client_at_one_step_together():
    # (case, debtor, client, position)
    cases = [(1, 10, 100, 2), (2, 10, 100, 2), (3, 10, 100, 3), (4, 10, 200, 2), (5, 11, 100, 2)]
    groups = defaultdict(list)
    for case_id, debtor_id, client_id, position in cases:
        groups[group_key(debtor_id, client_id, position)].append(case_id)
    assert dict(groups) == {
        NoticeGroup(10, 100, 2): [1, 2],
        NoticeGroup(10, 100, 3): [3],
        NoticeGroup(10, 200, 2): [4],
        NoticeGroup(11, 100, 2): [5],
    }
    assert group_key(10, 100, 2).client_id == 100


def _steps(*changes):
    """A workflow of email reminders, one per change dict, positions 1, 2, 3 ..."""
    return [
        Step(
            **{
                "position": n,
                "action": A.EMAIL_REMINDER,
                "delay_days": 7,
                "channel": Channel.EMAIL,
                **change,
            }
        )
        for n, change in enumerate(changes, start=1)
    ]


LETTER = {"action": A.FOURTEEN_DAY_LETTER, "channel": Channel.LETTER}
COSTS = {"charges_costs": True}


@pytest.mark.parametrize(
    ("steps", "problems"),
    [
        (WORKFLOW, []),
        (_steps({}, {"position": 1}), ["two steps share a position"]),
        (
            _steps({"delay_days": -3}, {"delay_days": -1}),
            ["step 2: a later step cannot come before the previous"],
        ),
        (
            _steps({**LETTER, "delay_days": 0}),
            ["step 1: a 14-day letter needs the due date passed"],
        ),
        (_steps({**LETTER, "delay_days": 1}), []),  # the day after the due date: in default
        (
            _steps({"delay_days": -7}, {**LETTER, "delay_days": 7}),  # -7 + 7 = the due date
            ["step 2: a 14-day letter needs the due date passed"],
        ),
        (_steps({**LETTER, "channel": Channel.EMAIL}), ["step 1: a 14-day letter goes by post"]),
        (
            _steps({**LETTER, **COSTS}),
            ["step 1: a 14-day letter announces costs, not charges them"],
        ),
        (
            _steps(COSTS, LETTER),
            ["step 1: charges costs before any 14-day letter (consumers: none)"],
        ),
        (
            _steps(LETTER, {**COSTS, "delay_days": 16}),
            [
                "step 2: charges costs 16 days after the 14-day letter; its term ends 17 days "
                "after posting at the earliest"
            ],
        ),
        (_steps(LETTER, {**COSTS, "delay_days": 17}), []),
        (_steps(LETTER, {"delay_days": 10}, {**COSTS, "delay_days": 7}), []),  # 10 + 7
    ],
)
def test_workflow_problems(steps, problems):
    assert workflow_problems(steps) == problems


def test_invalid_values_are_refused():
    with pytest.raises(ValueError):
        Step(position=0, action=A.LETTER, delay_days=1, channel=Channel.LETTER)
    with pytest.raises(ValueError):
        CaseState(oldest_due_date=D("2024-03-01"), last_position=1)  # when was step 1?
    with pytest.raises(ValueError):
        CaseState(oldest_due_date=D("2024-03-01"), last_position=-1)


def test_enum_values_match_what_the_models_store():
    assert [action.value for action in StepAction] == [
        "invoice",
        "email_reminder",
        "letter",
        "fourteen_day_letter",
        "final_demand",
        "call_task",
        "legal_handover",
    ]
    assert [channel.value for channel in Channel] == ["email", "letter"]
