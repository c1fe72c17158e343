"""The hash chain as pure functions: links, and every kind of tampering."""

import copy

from audit import chain


def build(n: int) -> list[dict]:
    entries, head = [], None
    for i in range(n):
        head = chain.link(
            head,
            {
                "at": f"2026-11-22T00:00:{i:02d}.000000+00:00",
                "actor": "staff:1:a",
                "action": "thing.changed",
                "object_type": "thing",
                "object_id": str(i),
                "before": chain.canonical_json({"v": i}),
                "after": chain.canonical_json({"v": i + 1}),
                "request_id": "r",
            },
        )
        entries.append(head)
    return entries


def test_an_untouched_chain_verifies_and_reports_its_head():
    entries = build(5)
    check = chain.verify(entries)
    assert check.ok and check.checked == 5
    assert check.head_seq == 5 and check.head_hash == entries[-1]["hash"]


def test_an_edited_field_is_detected_at_that_row():
    entries = copy.deepcopy(build(5))
    entries[2]["after"] = chain.canonical_json({"v": 999})
    check = chain.verify(entries)
    assert not check.ok and check.first_bad_seq == 3 and "edited" in check.reason


def test_an_edit_that_also_recomputes_the_hash_breaks_the_next_link():
    entries = copy.deepcopy(build(5))
    entries[2]["actor"] = "staff:2:b"
    entries[2]["hash"] = chain.entry_hash(entries[2])
    check = chain.verify(entries)
    assert not check.ok and check.first_bad_seq == 4


def test_a_deleted_row_is_detected():
    entries = build(5)
    check = chain.verify(entries[:2] + entries[3:])
    assert not check.ok and check.first_bad_seq == 4 and "removed" in check.reason


def test_verification_can_be_fed_in_batches():
    entries = build(7)
    check = chain.verify(entries[:3])
    chain.verify(entries[3:], check)
    assert check.ok and check.checked == 7


def test_canonical_json_ignores_key_order_and_keeps_chinese():
    assert chain.canonical_json({"b": 1, "a": "东莞"}) == '{"a":"东莞","b":1}'
    assert chain.canonical_json(None) is None
