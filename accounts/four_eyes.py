"""The rule "the one who prepared a decision may not approve it"."""

from kernel.errors import Forbidden


def ensure_not_preparer(prepared_by: str, approver: str, *, what: str) -> None:
    """Raise Forbidden when `approver` is the actor who prepared `what`.

    Actors are compared by their stable label (Principal.actor); a person with two
    sessions is still one actor because the label carries the account id.
    """
    if _account(prepared_by) == _account(approver):
        raise Forbidden(
            f"{what} was prepared by the same account; another person must approve it",
            rule="four_eyes",
        )


def _account(actor: str) -> str:
    kind, _, rest = actor.partition(":")
    if kind == "staff":
        return "staff:" + rest.split(":", 1)[0]
    if kind == "org":
        return "org:" + rest.split(":", 1)[0]
    return actor
