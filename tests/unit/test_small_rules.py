"""Masking, credentials, four-eyes, cursors, settings, organisation validation."""

import pytest

from accounts import credentials, passwords
from accounts.four_eyes import ensure_not_preparer
from app.settings import Settings
from kernel.errors import Forbidden, InvalidInput
from kernel.masking import mask_id_number, mask_ids_in_text
from kernel.pagination import check_limit, decode_cursor, encode_cursor, next_cursor
from registry.credit_codes import make_credit_code
from registry.organisations import NewOrganisation, validate


def test_id_numbers_are_masked_to_first_and_last_four():
    assert mask_id_number("44190019900307123X") == "4419**********123X"
    line = "applicant 44190019900307123X and 441900199003071234 filed; order 1234567890123456789"
    masked = mask_ids_in_text(line)
    assert "4419**********123X" in masked and "4419**********1234" in masked
    assert "1234567890123456789" in masked  # 19 digits: not an ID number


def test_api_keys_are_random_and_stored_only_as_a_hash():
    a, b = credentials.new_api_key(), credentials.new_api_key()
    assert a.secret != b.secret and a.secret.startswith(f"sk_{a.prefix}_")
    assert a.hash == credentials.digest(a.secret) and a.secret not in a.hash


def test_passwords_use_argon2_and_verify():
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "correct horse battery")
    assert not passwords.verify_password(hashed, "wrong")
    assert not passwords.verify_password("garbage", "x")


def test_the_preparer_may_not_approve_even_with_another_session():
    with pytest.raises(Forbidden):
        ensure_not_preparer("staff:7:alice", "staff:7:alice", what="batch 3")
    with pytest.raises(Forbidden):
        ensure_not_preparer("org:4:key:aaaa", "org:4:key:bbbb", what="claim 9")
    ensure_not_preparer("staff:7:alice", "staff:8:bob", what="batch 3")


def test_cursors_round_trip_and_reject_forgeries():
    assert decode_cursor(encode_cursor(42)) == 42
    assert decode_cursor(None) is None
    for bad in ("???", "bm9wZQ", encode_cursor(1)[:-1] + "!"):
        with pytest.raises(InvalidInput):
            decode_cursor(bad)
    with pytest.raises(InvalidInput):
        check_limit(0)
    assert next_cursor([1, 2], 2) is not None and next_cursor([1], 2) is None


def test_settings_default_to_sqlite_under_var_and_the_embedded_broker(tmp_path):
    s = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert s.embedded_broker
    s = Settings.from_env({"DATABASE_URL": "postgresql://x/y", "BROKER_URL": "amqp://h"})
    assert s.database_url == "postgresql://x/y" and not s.embedded_broker


def test_organisation_validation_reports_every_field_at_once():
    with pytest.raises(InvalidInput) as info:
        validate(NewOrganisation(name="x", org_type="bank", credit_code="91441900123", town="广州"))
    assert {e.field for e in info.value.errors} == {"name", "org_type", "credit_code", "town"}


def test_generated_credit_codes_pass_stdnum():
    ok = validate(
        NewOrganisation(
            name="东莞企业", org_type="enterprise", credit_code=make_credit_code(123), town="虎门"
        )
    )
    assert len(ok.credit_code) == 18


def test_log_lines_carry_the_request_id_and_mask_id_numbers():
    import logging

    from app.logs import ContextFilter
    from kernel.context import request_id_var

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "person %s applied", ("44190019900307123X",), None
    )
    token = request_id_var.set("req-7")
    try:
        assert ContextFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "req-7"
    assert record.getMessage() == "person 4419**********123X applied"
