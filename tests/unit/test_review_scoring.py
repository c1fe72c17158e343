"""Expert review scoring: weights, exact totals, dropping extremes, rounding, ranking;
and the pure master-studio rules."""

from datetime import UTC, date, datetime

import pytest

from kernel.errors import Conflict, InvalidInput
from registry.studios import rules
from reviews import scoring
from reviews.scoring import Standing, Weights

SCORES = {"ethics": 80, "knowledge": 90, "ability": 70, "achievements": 60}


def test_the_default_weights_are_20_30_30_20_and_the_total_is_exact_hundredths():
    assert scoring.DEFAULT_WEIGHTS.as_dict() == {
        "ethics": 20,
        "knowledge": 30,
        "ability": 30,
        "achievements": 20,
    }
    # 80*.2 + 90*.3 + 70*.3 + 60*.2 = 76.00
    assert scoring.weighted_total(SCORES, scoring.DEFAULT_WEIGHTS) == 7600
    odd = {"ethics": 81, "knowledge": 80, "ability": 80, "achievements": 79}
    assert scoring.weighted_total(odd, Weights(25, 25, 25, 25)) == 8000
    assert scoring.weighted_total(odd, Weights(33, 33, 33, 1)) == 81 * 33 + 160 * 33 + 79
    assert scoring.format_hundredths(81 * 33 + 160 * 33 + 79) == "80.32"


def test_weights_must_be_whole_percentages_adding_up_to_100():
    assert scoring.check_weights(scoring.DEFAULT_WEIGHTS.as_dict()) == []
    assert not scoring.check_weights(
        {"ethics": 0, "knowledge": 0, "ability": 0, "achievements": 100}
    )
    bad = scoring.check_weights({"ethics": 20, "knowledge": 30, "ability": 30, "achievements": 21})
    assert [e.field for e in bad] == ["weights"] and "101" in bad[0].reason
    bad = scoring.check_weights({"ethics": -1, "knowledge": True, "ability": 30.0, "x": 1})
    assert {e.field for e in bad} == {
        "weights",
        "weights.ethics",
        "weights.knowledge",
        "weights.ability",
        "weights.achievements",
    }


def test_scores_are_whole_numbers_from_0_to_100_and_every_bad_one_is_named():
    assert not scoring.check_scores(
        {"ethics": 0, "knowledge": 100, "ability": 50, "achievements": 1}
    )
    bad = scoring.check_scores({"ethics": 101, "knowledge": -1, "ability": 50.5})
    assert [e.field for e in bad] == ["ethics", "knowledge", "ability", "achievements"]
    assert [e.field for e in scoring.check_scores({**SCORES, "ethics": True})] == ["ethics"]


def test_exactly_four_totals_keep_all_of_them():
    totals = [1000, 5000, 6000, 9000]
    assert scoring.counted_totals(totals) == sorted(totals)
    assert scoring.final_score(totals) == 5250


def test_five_or_more_totals_drop_the_single_highest_and_lowest():
    assert scoring.final_score([9900, 5000, 1000, 7000, 6000]) == 6000
    assert scoring.counted_totals([9900, 5000, 1000, 7000, 6000]) == [5000, 6000, 7000]
    # Ties at the extremes: one of each is dropped, not every equal one.
    assert scoring.counted_totals([5000, 5000, 6000, 7000, 7000]) == [5000, 6000, 7000]
    assert scoring.final_score([5000, 5000, 6000, 7000, 7000]) == 6000
    six = [1000, 2000, 3000, 4000, 5000, 10000]
    assert scoring.final_score(six) == 3500  # (2000+3000+4000+5000)/4


def test_the_final_score_is_rounded_once_half_up_to_hundredths():
    assert scoring.final_score([8512, 8513]) == 8513  # 85.125 -> 85.13 (round() gives 85.12)
    assert round(8512.5) == 8512  # the banker's rounding this avoids
    assert scoring.final_score([7600, 7600, 7601]) == 7600  # 76.0033...
    assert scoring.final_score([7601, 7602, 7602]) == 7602  # 76.0166...
    assert scoring.final_score([1]) == 1
    assert scoring.round_half_up(scoring.Fraction(-5, 2)) == -3
    with pytest.raises(ValueError):
        scoring.final_score([])


def test_mean_achievements_and_completion():
    assert scoring.mean_hundredths([81, 80]) == 8050
    assert scoring.mean_hundredths([80, 80, 81]) == 8033
    assert scoring.is_complete(submitted=3, pending=0, min_reviewers=3)
    assert not scoring.is_complete(submitted=3, pending=1, min_reviewers=3)
    assert not scoring.is_complete(submitted=2, pending=0, min_reviewers=3)


def test_minimum_reviewers_is_at_least_the_setting():
    assert scoring.check_min_reviewers(3, 3) == []
    assert scoring.check_min_reviewers(5, 3) == []
    assert scoring.check_min_reviewers(2, 3)[0].field == "min_reviewers"
    assert scoring.check_min_reviewers(scoring.MAX_REVIEWERS + 1, 3)


def test_ranking_breaks_ties_by_achievements_then_application_time_then_id():
    t = [datetime(2025, 3, d, tzinfo=UTC) for d in (1, 2, 3)]
    best = Standing(case_id=9, final_score=9000, achievements_score=5000, applied_at=t[2])
    more_achievements = Standing(7, 8500, 9000, t[2])
    earlier = Standing(8, 8500, 8000, t[0])
    later_low_id = Standing(2, 8500, 8000, t[1])
    same_time_high_id = Standing(6, 8500, 8000, t[1])
    last = Standing(1, 8000, 10000, t[0])
    shuffled = [last, same_time_high_id, earlier, best, later_low_id, more_achievements]
    assert [s.case_id for s in scoring.rank(shuffled)] == [9, 7, 8, 2, 6, 1]


def test_format_hundredths_is_exact():
    assert scoring.format_hundredths(8512) == "85.12"
    assert scoring.format_hundredths(7) == "0.07"
    assert scoring.format_hundredths(10000) == "100.00"
    assert scoring.format_hundredths(None) is None


# -- master studio rules -------------------------------------------------------------


def _cert(id_: int, level: int, *, status="valid", code="6-18-01-01", issued=date(2020, 1, 1)):
    return rules.HeldCertificate(id_, f"C{id_}", level, code, "车工", status, issued)


def test_a_master_needs_a_valid_certificate_at_technician_or_above():
    today = date(2025, 6, 1)
    pick = rules.master_certificate
    assert pick([_cert(1, 3), _cert(2, 4)], "6-18-01-01", today) is None
    assert pick([_cert(1, 2, status="revoked")], "6-18-01-01", today) is None
    assert pick([_cert(1, 1, issued=date(2025, 6, 2))], "6-18-01-01", today) is None
    assert pick([_cert(1, 2), _cert(2, 3)], "6-18-01-01", today).id == 1
    # The studio's own occupation is preferred, then the higher level, then the older.
    other = _cert(3, 1, code="6-20-01-01")
    assert pick([other, _cert(4, 2)], "6-18-01-01", today).id == 4
    assert pick([other, _cert(4, 2)], "6-99-01-01", today).id == 3
    assert "technician 技师" in rules.describe(_cert(4, 2))


def test_an_application_reports_every_problem():
    new = rules.NewStudio(
        master_person_id=1,
        occupation_code="618",
        occupation_name="",
        plan="short",
        members=(rules.Member(1, "apprentice"), rules.Member(2, "boss"), rules.Member(2, "member")),
    )
    with pytest.raises(InvalidInput) as caught:
        rules.validate_application(new)
    assert {e.field for e in caught.value.errors} == {
        "occupation_code",
        "occupation_name",
        "plan",
        "members[0].person_id",
        "members[1].role",
        "members[2].person_id",
    }


def test_studio_transitions_and_dates():
    rules.ensure_transition("applied", "under_review")
    rules.ensure_transition("under_review", "established")
    rules.ensure_transition("established", "revoked")
    for current, target in [
        ("applied", "established"),
        ("rejected", "under_review"),
        ("revoked", "established"),
    ]:
        with pytest.raises(Conflict):
            rules.ensure_transition(current, target)
    today = date(2025, 6, 1)
    with pytest.raises(InvalidInput) as caught:
        rules.validate_establishment("district", date(2025, 6, 2), date(2025, 1, 1), today)
    assert {e.field for e in caught.value.errors} == {"level", "established_on"}
    with pytest.raises(InvalidInput) as caught:
        rules.validate_assessment(2023, "fail", " ", date(2024, 3, 1), today)
    assert {e.field for e in caught.value.errors} == {"year", "notes"}
    rules.validate_assessment(2025, "pass", "", date(2024, 3, 1), today)
    with pytest.raises(InvalidInput):
        rules.validate_revocation("ok reason", date(2024, 2, 1), date(2024, 3, 1), today)
