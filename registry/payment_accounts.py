"""A person's payment account: by default the financial account of their social
security card (社会保障卡金融账户), where subsidies to individuals are paid.

Every recording goes through `record` (an officer's PUT, a file import, an employer's
proposal an officer confirms, an officer's confirmation of a claim's account) and is
audited with the account masked; only staff record. A change made while any claim of
the person may still be paid (not paid, rejected or withdrawn, in a batch or not) is
the classic redirect fraud, so it waits for a second officer (`confirm_change`), who
names the change they saw by its `set_at`; until then the batch preview leaves the
person's claims out with the reason. A batch line keeps the account it was built with,
but a cancelled batch or a line the bank returns failed brings the claim back to be
paid from the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.four_eyes import ensure_not_preparer
from accounts.principal import Principal
from audit.log import record as audit
from kernel import sandbox
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from kernel.file_limits import FileLimits
from registry import payment_account_file
from registry.organisations import BankAccount, for_update, mask_account, validate_bank_account
from registry.tables import Person
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

SOCIAL_SECURITY_CARD = "social_security_card"
OTHER = "other"
KINDS = (SOCIAL_SECURITY_CARD, OTHER)
# Claims not yet settled (paid, rejected or withdrawn), in a batch or not: a cancelled
# batch or a failed line sends a claim back to the next batch, paid from the record.
UNPAID = tuple(s for s in statuses.LIVE if s != statuses.PAID)

_COLUMNS = (
    Person.id,
    Person.name,
    Person.bank_name,
    Person.bank_code,
    Person.bank_account,
    Person.bank_account_kind,
    Person.bank_account_set_by,
    Person.bank_account_set_at,
    Person.bank_account_unconfirmed_by,
)


@dataclass(frozen=True)
class PaymentAccount:
    bank_name: str
    bank_account: str
    bank_code: str | None = None  # CNAPS 联行号: optional, carried to the bank file
    holder: str | None = None  # must be the person's own name; None: that name
    kind: str = SOCIAL_SECURITY_CARD


def validate(account: PaymentAccount, person_name: str) -> PaymentAccount:
    """Normalised, or InvalidInput naming every bad field (pure)."""
    holder = person_name if account.holder is None else account.holder.strip()
    clean, errors = validate_bank_account(
        BankAccount(account.bank_name, account.bank_account, holder or "--", account.bank_code)
    )
    errors = [e for e in errors if e.field != "bank_account_name"]
    if holder != person_name:
        errors.append(
            FieldError("holder", "a person is paid into their own account: the holder must be "
                       "the person's name as registered")
        )  # fmt: skip
    if account.kind not in KINDS:
        errors.append(FieldError("kind", f"must be one of {', '.join(KINDS)}"))
    if errors:
        raise InvalidInput(errors)
    return PaymentAccount(
        clean.bank_name, clean.bank_account, clean.bank_code, person_name, account.kind
    )


def shown(who_sees_whole: bool, row: dict[str, Any]) -> dict[str, Any]:
    account = row["bank_account"] if who_sees_whole else mask_account(row["bank_account"])
    return {
        "person_id": row["id"],
        "holder": row["name"],
        "bank_name": row["bank_name"],
        "bank_code": row["bank_code"],
        "bank_account": account,
        "kind": row["bank_account_kind"],
        "set_by": row["bank_account_set_by"],
        "set_at": row["bank_account_set_at"],
        "awaiting_confirmation": row["bank_account_unconfirmed_by"] is not None,
    }


def _audited(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "bank_name": row["bank_name"],
        "bank_code": row["bank_code"],
        "bank_account": mask_account(row["bank_account"]),
        "kind": row["bank_account_kind"],
    }


async def _locked(person_id: int) -> dict[str, Any]:
    row = await for_update(Person.select(*_COLUMNS).where(Person.id == person_id)).first().run()
    if row is None:
        raise NotFound("person not found", person_id=person_id)
    return row


async def get(person_id: int) -> dict[str, Any]:
    row = await Person.select(*_COLUMNS).where(Person.id == person_id).first().run()
    if row is None:
        raise NotFound("person not found", person_id=person_id)
    return row


async def record(
    actor: Principal, person_id: int, account: PaymentAccount, *, via: str
) -> dict[str, Any]:
    """Records the account (in the caller's unit of work, or its own); returns the row.
    `via` says where the change came from (api, import, claim confirmation)."""
    return (await _record(actor, person_id, account, via=via))[0]


async def _record(
    actor: Principal, person_id: int, account: PaymentAccount, *, via: str
) -> tuple[dict[str, Any], bool]:
    async with unit_of_work():
        before = await _locked(person_id)
        clean = validate(account, before["name"])
        same = (
            before["bank_name"] == clean.bank_name
            and before["bank_account"] == clean.bank_account
            and before["bank_code"] == clean.bank_code
            and before["bank_account_kind"] == clean.kind
        )
        if same:
            return before, False
        exposed = await Claim.exists().where(
            (Claim.person == person_id) & Claim.status.is_in(list(UNPAID))
        ).run()  # fmt: skip
        now = utcnow()
        changes = {
            "bank_name": clean.bank_name,
            "bank_code": clean.bank_code,
            "bank_account": clean.bank_account,
            "bank_account_kind": clean.kind,
            "bank_account_set_by": actor.actor,
            "bank_account_set_at": now,
            "bank_account_unconfirmed_by": actor.actor if exposed else None,
        }
        await (
            Person.update({**{getattr(Person, k): v for k, v in changes.items()},
                           Person.updated_at: now})
            .where(Person.id == person_id)
            .run()
        )  # fmt: skip
        after = {**before, **changes}
        await audit(
            actor.actor, "person.bank_account_set", "person", person_id,
            before=_audited(before),
            after={**_audited(after), "via": via, "awaiting_confirmation": exposed},
        )  # fmt: skip
    return after, True


async def confirm_change(actor: Principal, person_id: int, set_at: datetime) -> dict[str, Any]:
    """A second officer confirms the account change they looked at, named by its `set_at`
    (as GET shows it); the person's approved claims may then be batched. The officer who
    made the change may change it again before the confirmation: a confirmation of an
    earlier change would pass an account the second officer never saw, so it is 409."""
    async with unit_of_work():
        row = await _locked(person_id)
        changed_by = row["bank_account_unconfirmed_by"]
        if changed_by is None:
            raise Conflict(
                "no change of this person's payment account awaits confirmation",
                field="bank_account",
            )
        if row["bank_account_set_at"] != set_at:
            raise Conflict(
                "the payment account changed since the change being confirmed: look at it "
                "again and confirm its set_at",
                field="set_at",
            )
        ensure_not_preparer(changed_by, actor.actor, what="this payment account change")
        await (
            Person.update({Person.bank_account_unconfirmed_by: None})
            .where(Person.id == person_id)
            .run()
        )
        await audit(
            actor.actor, "person.bank_account_confirmed", "person", person_id,
            after={**_audited(row), "changed_by": changed_by,
                   "changed_at": row["bank_account_set_at"]},
        )  # fmt: skip
    return {**row, "bank_account_unconfirmed_by": None}


@dataclass(frozen=True)
class ImportReport:
    rows: int
    changed: int
    unchanged: int
    awaiting_confirmation: int  # changed while a claim of the person was unpaid


async def import_file(actor: Principal, data: bytes) -> ImportReport:
    """A file of accounts (registry.payment_account_file), all or nothing: any bad row
    (an unknown ID number, a holder who is not the person, a bad account) answers 400
    naming its row and column, and nothing changes."""
    try:
        rows, errors = await sandbox.run_async(
            payment_account_file.read, data, FileLimits.from_env()
        )
    except sandbox.UnreadableFile as exc:
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    if errors:
        raise InvalidInput(errors)
    people: dict[str, dict[str, Any]] = {}
    numbers = [r.id_number for r in rows]
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start : start + 1000]
        found = await Person.select(Person.id, Person.id_number, Person.name).where(
            Person.id_number.is_in(chunk)
        ).run()  # fmt: skip
        people.update((p["id_number"], p) for p in found)
    accounts: list[tuple[int, PaymentAccount]] = []
    for row in rows:
        person = people.get(row.id_number)
        if person is None:
            errors.append(FieldError(f"row {row.row}, column id_number", "no person has this ID"))
            continue
        account = PaymentAccount(
            row.bank_name, row.bank_account, row.bank_code, row.holder,
            row.kind or SOCIAL_SECURITY_CARD,
        )  # fmt: skip
        try:
            validate(account, person["name"])
        except InvalidInput as exc:
            errors.extend(
                FieldError(f"row {row.row}, column {e.field}", e.reason) for e in exc.errors
            )
            continue
        accounts.append((person["id"], account))
    if errors:
        raise InvalidInput(errors[: payment_account_file.MAX_ERRORS])
    changed = awaiting = 0
    async with unit_of_work():
        for person_id, account in accounts:
            after, was_changed = await _record(actor, person_id, account, via="import")
            if was_changed:
                changed += 1
                awaiting += after["bank_account_unconfirmed_by"] is not None
    return ImportReport(len(rows), changed, len(rows) - changed, awaiting)
