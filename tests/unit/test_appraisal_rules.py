"""Leading-talent appraisal rules (pure): the form, the pre-check, the shortlist order,
the quota arithmetic, objections, dates of entitlements, and the policy file."""

from datetime import UTC, date, datetime

import pytest

from kernel.errors import Conflict, InvalidInput, NotFound
from registry.appraisals import policy, rules
from registry.appraisals.rules import Candidate, Evidence, Medal, NewApplication

TODAY = date(2026, 3, 2)
EVIDENCE = Evidence(20, "主持工艺攻关十余项，效益显著。", ("专利 A",), ("技术能手",), 12)


def new(**changes):
    base = dict(
        round_id=1,
        person_id=2,
        route="recognition",
        occupation_code="6-18-01-01",
        occupation_name="车工",
        medal=Medal("WorldSkills Competition", 2024, "gold"),
        evidence=None,
    )
    return NewApplication(**{**base, **changes})


def fields(error: InvalidInput) -> set[str]:
    return {e.field for e in error.errors}


def test_a_valid_recognition_application_is_normalised():
    clean = rules.validate_application(new(medal=Medal("  世界技能大赛 ", 2022, "silver")), TODAY)
    assert clean.medal == Medal("世界技能大赛", 2022, "silver")
    assert rules.first_status(clean.route) == rules.QUALIFIED
    assert rules.first_status(rules.EVALUATION) == rules.APPLIED


@pytest.mark.parametrize(
    ("medal", "field"),
    [
        (Medal("全国技能大赛", 2024, "gold"), "medal.competition"),
        (Medal("WorldSkills", 2024, "excellence"), "medal.medal"),
        (Medal("WorldSkills", 2027, "gold"), "medal.year"),
        (None, "medal"),
    ],
)
def test_recognition_needs_a_qualifying_medal(medal, field):
    with pytest.raises(InvalidInput) as caught:
        rules.validate_application(new(medal=medal), TODAY)
    assert field in fields(caught.value)


def test_every_problem_of_an_evaluation_form_at_once():
    bad = Evidence(61, "short", ("",) * 51, (), -1)
    with pytest.raises(InvalidInput) as caught:
        rules.validate_application(
            new(route="evaluation", medal=Medal("WorldSkills", 2024, "gold"), evidence=bad),
            TODAY,
        )
    assert {
        "medal",
        "evidence.frontline_years",
        "evidence.achievements",
        "evidence.patents",
        "evidence.apprentices_trained",
    } <= fields(caught.value)
    ok = rules.validate_application(new(route="evaluation", medal=None, evidence=EVIDENCE), TODAY)
    assert ok.evidence == EVIDENCE


def test_the_precheck_reasons():
    held = [
        rules.HeldCertificate(1, "C1", 4, "车工", "valid", date(2020, 1, 1)),
        rules.HeldCertificate(2, "C2", 3, "车工", "revoked", date(2020, 1, 1)),
        rules.HeldCertificate(3, "C3", 3, "车工", "valid", date(2026, 3, 3)),  # tomorrow
    ]
    assert rules.level_basis(held, TODAY) is None
    held.append(rules.HeldCertificate(4, "C4", 2, "焊工", "valid", date(2019, 1, 1)))
    assert rules.level_basis(held, TODAY) == "certificate C4 (technician 技师, 焊工)"
    errors = rules.precheck_reasons(
        basis=None, applicant_type="enterprise", employed_by_applicant=False
    )
    assert errors[0].reason == rules.LEVEL_REASON
    assert "its own employee" in errors[1].reason
    assert (
        rules.precheck_reasons(
            basis="x", applicant_type="technical_school", employed_by_applicant=False
        )
        == []
    )


def test_the_round_must_be_open():
    round_ = {"id": 1, "opens_on": date(2026, 2, 1), "closes_on": date(2026, 3, 1)}
    rules.ensure_round_open(round_, date(2026, 3, 1))
    with pytest.raises(Conflict):
        rules.ensure_round_open(round_, TODAY)


def _at(minute: int) -> datetime:
    return datetime(2026, 2, 1, 8, minute, tzinfo=UTC)


def test_the_shortlist_order_and_its_tie_breaks():
    candidates = [
        Candidate(1, "evaluation", _at(1), case_id=11, final_score=8000, achievements_score=7000),
        Candidate(2, "evaluation", _at(2), case_id=12, final_score=8000, achievements_score=9000),
        Candidate(3, "recognition", _at(9), medal="bronze"),
        Candidate(4, "recognition", _at(8), medal="gold"),
        Candidate(5, "recognition", _at(7), medal="bronze"),
        Candidate(6, "evaluation", _at(0), case_id=16, final_score=5999, achievements_score=9900),
        Candidate(7, "evaluation", _at(0), case_id=17, final_score=8000, achievements_score=9000),
        Candidate(8, "evaluation", _at(3), case_id=18, final_score=9000, achievements_score=100),
    ]
    ranked = [c.application_id for c in rules.rank_candidates(candidates, 6000)]
    # Medallists first (gold, then bronze by application time); then by score, the
    # achievements mean, the earlier application; 6 is below the pass mark of 60.00.
    assert ranked == [4, 5, 3, 8, 7, 2, 1]


def test_places_left_counts_approved_and_pending_against_pool_and_round():
    assert rules.places_left(100, 40, 10, None, 0, 0) == 50
    assert rules.places_left(100, 40, 10, 20, 5, 3) == 12
    assert rules.places_left(100, 99, 3, None, 0, 0) == 0


@pytest.mark.parametrize(
    ("contact", "ok"),
    [
        ("13800138000", True),
        ("0769-22345678", True),
        ("someone@example.com", True),
        ("12345", False),
        ("not an email", False),
    ],
)
def test_objection_contacts(contact, ok):
    if ok:
        assert (
            rules.validate_objection("张三", contact, "申报材料与事实不符，请核查。")[1] == contact
        )
    else:
        with pytest.raises(InvalidInput) as caught:
            rules.validate_objection("张三", contact, "申报材料与事实不符，请核查。")
        assert fields(caught.value) == {"contact"}


def test_objection_text_is_checked():
    with pytest.raises(InvalidInput) as caught:
        rules.validate_objection("a\x00b", "13800138000", "太短")
    assert fields(caught.value) == {"contact_name", "reason"}


def test_notice_windows():
    rules.ensure_in_notice_window("objected", TODAY, date(2026, 3, 13), date(2026, 3, 13))
    with pytest.raises(NotFound):
        rules.ensure_in_notice_window("in_notice", TODAY, date(2026, 3, 13), date(2026, 3, 14))
    with pytest.raises(NotFound):
        rules.ensure_in_notice_window("shortlisted", None, None, TODAY)
    with pytest.raises(Conflict):
        rules.ensure_notice_over(date(2026, 3, 13), date(2026, 3, 13))
    rules.ensure_notice_over(date(2026, 3, 13), date(2026, 3, 14))
    with pytest.raises(InvalidInput):
        rules.validate_notice_start(date(2026, 3, 1), TODAY)


def test_entitlement_dates_and_the_introduction_window():
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert rules.add_months(date(2026, 3, 16), -24) == date(2024, 3, 16)
    assert rules.instalment_dates(date(2026, 3, 16), [0, 12, 24]) == [
        date(2026, 3, 16),
        date(2027, 3, 16),
        date(2028, 3, 16),
    ]
    awarded = date(2026, 3, 16)
    assert rules.brought_in_within(date(2024, 3, 16), awarded, 24)
    assert not rules.brought_in_within(date(2024, 3, 15), awarded, 24)
    assert not rules.brought_in_within(date(2026, 3, 17), awarded, 24)
    assert not rules.brought_in_within(None, awarded, 24)
    assert rules.award_number(awarded, 123) == "DGLT-2026-000123"


def test_transitions():
    rules.ensure_transition("in_notice", "approved")
    with pytest.raises(Conflict):
        rules.ensure_transition("qualified", "approved")
    with pytest.raises(Conflict):
        rules.ensure_transition("approved", "rejected")


def test_the_shipped_policy_and_its_validation():
    p = policy.current()
    assert p.notice_working_days == 10 and p.min_reviewers == 3
    assert sum(p.weights_dict().values()) == 100
    assert p.extension_days() == 5
    text = policy.POLICY_FILE.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="must add up to 100"):
        policy.parse(text.replace("achievements = 30", "achievements = 31"))
    with pytest.raises(ValueError, match="notice_working_days"):
        policy.parse(text.replace("notice_working_days = 10", "notice_working_days = 0"))
    off = policy.parse(text.replace("extend_on_dismissal = true", "extend_on_dismissal = false"))
    assert off.extension_days() == 0
