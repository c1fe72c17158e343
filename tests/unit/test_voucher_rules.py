"""Training voucher rules, pure: numbers and their check character, the expiry
boundary, level coverage, eligibility facts and the reimbursement calculator."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from subsidies.policies import documents
from subsidies.vouchers import calculator, numbers, rules
from subsidies.vouchers.rules import Refusal

ISSUED_ON = date(2026, 3, 1)
EXPIRES = rules.expires_on(ISSUED_ON, 365)


def policy(**parameters):
    raw = documents.load_file(documents.DEFAULTS_DIR / "training_voucher.v1.toml").raw
    return documents.parse({**raw, "parameters": {**raw["parameters"], **parameters}}, "test")


# -- numbers -------------------------------------------------------------------------


def test_a_number_has_the_year_and_passes_its_own_check():
    number = numbers.random_number(2026, bytes(range(7)))
    assert number.startswith("DGV-2026-") and len(number) == len("DGV-2026-XXXX-XXXX-XXX")
    assert numbers.parse(number) == (number, None)


def test_numbers_are_read_forgivingly():
    number = numbers.compose(2026, "7K3QH9MW0A")
    messy = " " + number.lower().replace("-", " ").replace("0", "o") + " "
    assert numbers.parse(messy) == (number, None)


@pytest.mark.parametrize("position", range(len("DGV-2026-"), len("DGV-2026-7K3Q-H9MW-XAZ")))
def test_every_single_mistyped_character_is_caught(position):
    number = numbers.compose(2026, "7K3QH9MWXA")
    if number[position] == "-":
        return
    for ch in numbers.ALPHABET:
        if ch != number[position]:
            typo = number[:position] + ch + number[position + 1 :]
            assert numbers.parse(typo) == (None, numbers.CHECK_REASON), typo


def test_swapping_neighbours_is_caught():
    number = numbers.compose(2026, "7K3QH9MWXA")
    compact = number.replace("-", "")
    for i in range(len("DGV"), len(compact) - 1):
        if compact[i] != compact[i + 1]:
            swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
            assert numbers.parse(swapped)[0] is None, swapped


def test_the_check_character_is_luhn_mod_32():
    # By hand: "20260000000001" from the right, every second value doubled starting with
    # the last: 1x2 + 6x2 + 2 + 0x2 + 2 = 18; the check is 32 - 18 = 14, "E".
    payload = "20260000000001"
    assert numbers.check_character(payload) == "E"
    assert [c for c in numbers.ALPHABET if numbers.has_valid_check(payload + c)] == ["E"]


@pytest.mark.parametrize("text", ["", "DGV-2026", "XYZ-2026-7K3Q-H9MW-XAZ", "DGV-26-7K3Q-H9MW-XA"])
def test_a_malformed_number_says_what_a_number_looks_like(text):
    assert numbers.parse(text) == (None, numbers.FORMAT_REASON)


# -- expiry and redemption -----------------------------------------------------------


def refusal(today, *, status="issued", level=4, start=ISSUED_ON, id_matches=True):
    return rules.redemption_refusal(
        status=status,
        issued_on=ISSUED_ON,
        expires=EXPIRES,
        covers_levels=(5, 4, 3),
        today=today,
        course_level=level,
        course_start=start,
        id_matches=id_matches,
        redeemed_on=date(2026, 4, 1) if status == "redeemed" else None,
    )


def test_expires_on_is_issue_day_plus_valid_days():
    assert rules.expires_on(ISSUED_ON, 365) == date(2027, 3, 1)


def test_the_last_valid_day_redeems_and_the_day_after_refuses():
    assert refusal(EXPIRES) is None
    refused = refusal(date(2027, 3, 2))
    assert refused == Refusal("number", "this voucher expired: its last day was 2027-03-01", True)
    assert rules.shown_status("issued", EXPIRES, EXPIRES) == "issued"
    assert rules.shown_status("issued", EXPIRES, date(2027, 3, 2)) == "expired"
    assert rules.shown_status("redeemed", EXPIRES, date(2030, 1, 1)) == "redeemed"


@pytest.mark.parametrize(
    ("level", "covered"), [(5, True), (4, True), (3, True), (2, False), (1, False)]
)
def test_only_covered_levels_redeem(level, covered):
    found = refusal(ISSUED_ON, level=level)
    if covered:
        assert found is None
    else:
        assert found is not None and found.field == "course_level" and not found.conflict
        assert "covers levels 5 (初级工 junior worker), 4" in found.reason


def test_used_and_cancelled_vouchers_are_refused_with_the_reason():
    used = refusal(ISSUED_ON, status="redeemed")
    assert used.conflict and "already redeemed on 2026-04-01" in used.reason
    assert refusal(ISSUED_ON, status="cancelled").reason == "this voucher was cancelled"


def test_the_holder_is_checked_before_anything_is_revealed():
    found = refusal(date(2030, 1, 1), status="redeemed", id_matches=False)
    assert found == Refusal("id_number", "does not match the holder of this voucher", False)


def test_a_course_that_began_before_the_voucher_cannot_use_it():
    assert refusal(ISSUED_ON, start=date(2026, 2, 28)).field == "course_start"
    assert refusal(ISSUED_ON, start=ISSUED_ON) is None


def test_ordinals_stop_at_the_policy_limit():
    assert rules.next_ordinal(0, 1) == 1
    assert rules.next_ordinal(1, 1) is None
    assert rules.next_ordinal(1, 2) == 2
    assert rules.next_ordinal(2, 2) is None


# -- eligibility ---------------------------------------------------------------------


def test_insured_by_confirmed_months_or_by_a_current_insured_employment():
    flags = rules.insured_flags(
        pd.Series([12, 0, None, 12, None]),
        pd.Series([date(2026, 1, 1), date(2026, 1, 1), None, None, None]),
        pd.Series([False, False, True, False, False]),
    )
    assert flags.tolist() == [True, False, True, False, False]


def test_age_turns_on_the_birthday():
    ages = rules.ages_on(pd.Series([date(1981, 3, 1), date(1981, 3, 2)]), date(2026, 3, 1))
    assert ages.tolist() == [45, 44]


def test_refusal_reasons_name_the_precondition_and_each_failed_condition():
    p = documents.parse(
        {
            **policy().raw,
            "conditions": [
                {"fact": "insured", "op": "is", "value": True},
                {"fact": "age", "op": "at_most", "value": 45},
            ],
        },
        "test",
    )
    facts = pd.DataFrame(
        {
            "hukou": [None],
            "age": [50],
            "insured_months": [np.nan],
            "insured": [False],
            "level": [np.nan],
        }
    )
    reasons = rules.refusal_reasons(facts, p.conditions)
    assert reasons == [rules.NOT_INSURED, "the policy requires age at most 45 (here: 50)"]
    assert not rules.eligible(facts, p.conditions)[0]
    facts.loc[0, ["insured", "age"]] = [True, 45]
    assert rules.refusal_reasons(facts, p.conditions) == []
    assert rules.eligible(facts, p.conditions)[0]


def test_yuan_keeps_fen_exact():
    assert rules.yuan(100_000) == "1,000"
    assert rules.yuan(100_050) == "1,000.50"
    assert rules.yuan(7) == "0.07"


# -- the calculator ------------------------------------------------------------------


def inputs(rows):
    frame = pd.DataFrame(
        rows,
        columns=["voucher_found", "course_passed", "face_value_fen", "fee_fen"],
    )
    frame.index = pd.Index(range(100, 100 + len(rows)), name="claim_id")
    frame["fee_fen"] = frame["fee_fen"].astype("float64")
    return frame


def test_the_calculator_pays_the_lower_of_face_value_and_fee_once_passed():
    result = calculator.calculate(
        inputs(
            [
                (True, True, 100_000, 120_000),  # fee above: the face value
                (True, True, 100_000, 100_000),  # exactly the face value
                (True, True, 100_000, 80_050),  # fee below: the fee
                (True, False, 100_000, 80_000),  # not passed
                (False, True, 0, 80_000),  # no voucher
                (True, True, 100_000, None),  # no fee declared
            ]
        ),
        policy(),
    )
    assert result["amount_fen"].dtype == np.int64
    assert result["amount_fen"].tolist() == [100_000, 100_000, 80_050, 0, 0, 0]
    first = result["trace"].iloc[0]
    assert first[1] == {
        "zh": "培训券面值 1,000 元，课程已合格",
        "en": "voucher face value 1,000 yuan, course passed",
    }
    assert "按面值报销 1,000 元" in first[2]["zh"]
    assert "800.50 yuan reimbursed" in result["trace"].iloc[2][2]["en"]
    assert (
        "not passed" in result["trace"].iloc[3][1]["en"]
        or "no passed outcome" in (result["trace"].iloc[3][1]["en"])
    )
    assert "no voucher" in result["trace"].iloc[4][1]["en"]
    assert "no course fee" in result["trace"].iloc[5][2]["en"]
    assert "version 1" in first[0]["en"]
    # Rows with equal inputs get equal traces.
    again = calculator.calculate(inputs([(True, True, 100_000, 90_000)] * 3), policy())
    traces = again["trace"].tolist()
    assert traces[0] == traces[2] and "900 yuan reimbursed" in traces[0][2]["en"]


def test_the_calculator_reads_no_policy_amount_only_the_vouchers():
    # A later version with another face value does not change a voucher issued at 1,000.
    result = calculator.calculate(
        inputs([(True, True, 100_000, 150_000)]), policy(face_value_fen=200_000)
    )
    assert result["amount_fen"].tolist() == [100_000]


def test_the_calculator_takes_an_empty_frame():
    result = calculator.calculate(inputs([]), policy())
    assert len(result) == 0 and list(result.columns) == ["amount_fen", "trace"]
