"""Claim rules (pure): caps from a policy, yuan text, reasons, bulk lists, budgets,
who confirms and who is a party, which statuses may move, the claim-kind registry."""

from datetime import date

import pytest

from kernel.errors import Conflict, InvalidInput
from subsidies.claims import claim_kinds, rules, statuses
from subsidies.claims.submission import NewClaim
from subsidies.policies import documents


def _defaults() -> dict[str, documents.Policy]:
    return {p.scheme: p for p in documents.load_defaults()}


def test_the_cap_comes_from_the_policy_version():
    policies = _defaults()
    assert rules.cap_for(policies["internship"]) == 900_000  # 9,000 yuan per intern
    assert rules.cap_for(policies["skill_level"]) == 5_000_000  # 50,000 yuan per person
    for scheme in ("training_voucher", "studio_grant", "leading_talent_living"):
        assert rules.cap_for(policies[scheme]) is None


def test_a_changed_cap_is_read_from_the_document_not_assumed():
    raw = dict(_defaults()["internship"].raw)
    raw["parameters"] = {**raw["parameters"], "cap_per_intern_fen": 600_000}
    assert rules.cap_for(documents.parse(raw, "draft")) == 600_000


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (None, None),
        (0, "0.00"),
        (1, "0.01"),
        (99, "0.99"),
        (100, "1.00"),
        (900_000, "9,000.00"),
        (5_000_000, "50,000.00"),
        (123_456_789_01, "123,456,789.01"),
        (-150, "-1.50"),
    ],
)
def test_fen_are_shown_as_exact_yuan(fen, text):
    assert rules.yuan_text(fen) == text


def test_a_rejection_reason_is_required_and_bounded():
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(InvalidInput) as caught:
            rules.check_reason(blank)
        assert caught.value.errors[0].field == "reason"
    assert rules.check_reason("  not insured  ") == "not insured"
    assert rules.check_reason("x" * rules.REASON_MAX) == "x" * rules.REASON_MAX
    with pytest.raises(InvalidInput):
        rules.check_reason("x" * (rules.REASON_MAX + 1))


def test_bulk_lists_keep_their_order_once_each_and_are_bounded():
    assert rules.bulk_ids([3, 1, 3, 2, 1]) == [3, 1, 2]
    with pytest.raises(InvalidInput):
        rules.bulk_ids([])
    assert len(rules.bulk_ids(range(1, rules.BULK_MAX + 1))) == rules.BULK_MAX
    with pytest.raises(InvalidInput):
        rules.bulk_ids(range(1, rules.BULK_MAX + 2))
    # Repeats do not count against the limit.
    assert rules.bulk_ids([7] * (rules.BULK_MAX + 10)) == [7]


def test_budget_figures_are_checked_at_their_edges():
    known = ("internship", "skill_level")
    rules.check_budget("internship", rules.YEAR_MIN, 0, known)
    rules.check_budget("skill_level", rules.YEAR_MAX, rules.BUDGET_MAX_FEN, known)
    with pytest.raises(InvalidInput) as caught:
        rules.check_budget("nope", rules.YEAR_MIN - 1, -1, known)
    assert [e.field for e in caught.value.errors] == ["scheme", "year", "amount_fen"]
    with pytest.raises(InvalidInput):
        rules.check_budget("internship", rules.YEAR_MAX + 1, 1, known)
    with pytest.raises(InvalidInput):
        rules.check_budget("internship", 2026, rules.BUDGET_MAX_FEN + 1, known)
    refusal = rules.budget_below_committed("internship", 2026, 699_999, 700_000)
    assert isinstance(refusal, Conflict)
    assert "7,000.00 yuan is already committed" in refusal.message
    assert "6,999.99" in refusal.message


def test_who_confirms_the_account_and_who_is_a_party():
    to_org = {"payee_kind": "organisation", "claimant": 1, "payee_organisation": 2}
    to_person = {"payee_kind": "person", "claimant": 1, "payee_organisation": None}
    assert rules.beneficiary_organisation(to_org) == 2
    assert rules.beneficiary_organisation(to_person) == 1  # the employer
    assert rules.involved_organisations(to_org) == [1, 2]
    assert rules.involved_organisations(to_person) == [1]
    same = {"payee_kind": "organisation", "claimant": 5, "payee_organisation": 5}
    assert rules.involved_organisations(same) == [5]
    assert rules.involved_organisations({"claimant": None, "payee_organisation": None}) == []


@pytest.mark.parametrize("status", statuses.ALL)
def test_which_statuses_may_be_withdrawn_or_decided(status):
    if status in (statuses.PROPOSED, statuses.SUBMITTED, statuses.CALCULATED):
        rules.ensure_withdrawable(1, status)
    else:
        with pytest.raises(Conflict) as caught:
            rules.ensure_withdrawable(1, status)
        assert f"is {status}" in caught.value.message
    if status == statuses.CALCULATED:
        rules.ensure_decidable(1, status)
    else:
        with pytest.raises(Conflict) as caught:
            rules.ensure_decidable(1, status)
        assert caught.value.details["status"] == status


async def _build(actor, request):  # pragma: no cover - never called here
    return NewClaim(
        scheme=request.scheme,
        dedupe_key="x",
        basis_date=date(2026, 1, 1),
        payee_kind="organisation",
        submitted_by=actor.actor,
    )


async def _other_build(actor, request):  # pragma: no cover - never called here
    return await _build(actor, request)


def test_a_scheme_has_one_claim_kind():
    scheme = "unit_test_kind"
    claim_kinds.register_claim_kind(scheme, _build)
    claim_kinds.register_claim_kind(scheme, _build)  # the same again: harmless
    with pytest.raises(ValueError, match="has a claim kind already"):
        claim_kinds.register_claim_kind(scheme, _other_build)
    kind = claim_kinds.kind_for(scheme)
    assert kind is not None and kind.build is _build
    assert kind.claimant_types == ("enterprise", "training_institution")
    assert scheme in claim_kinds.known()
    assert claim_kinds.kind_for("no_such_kind") is None
