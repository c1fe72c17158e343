"""Deciding, for the rows that passed their own checks, which are new, which update
an earlier report, which change nothing, and which clash with the registry. Pure:
the caller fetches the existing records and passes them in."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["id_number", "course", "start_date", "end_date"]
CONTENT = [
    "name", "occupation_code", "occupation_name", "hours", "passed",
    "certificate_number", "certificate_level", "certificate_date", "issuer_id",
]  # fmt: skip
CERTIFICATE_FACTS = ["id_number", "certificate_level", "certificate_date", "occupation_code"]


def _errors(rows: pd.Series, column: str, code: str) -> pd.DataFrame:
    return pd.DataFrame({"row": rows.to_numpy(), "column": column, "code": code})


def group_ids(
    frame: pd.DataFrame, columns: list[str], within: np.ndarray | None = None
) -> np.ndarray:
    """An exact integer id per distinct combination of `columns` (no hashing), within
    the groups `within` if given (ids of earlier columns, computed already)."""
    ids = within
    if ids is None:
        ids, _ = pd.factorize(frame[columns[0]])
        columns = columns[1:]
    for column in columns:
        codes, uniques = pd.factorize(frame[column])
        ids, _ = pd.factorize(ids.astype(np.int64) * (len(uniques) + 1) + codes)
    return ids


def _first_of_group(ids: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row of its group."""
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    return first[inverse]


def _apart(ids: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`ids` with the rows of `out` given ids of their own (negative, each distinct):
    they then repeat nothing and nothing repeats them."""
    return np.where(out, -1 - np.arange(len(ids)), ids)


def within_file(valid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Rows repeating an earlier row of the same file. An exact repeat changes nothing
    (counted unchanged); a repeat with other details, or a name or certificate that
    contradicts an earlier row, is rejected. Returns (kept, errors, repeats).

    Repeats are rare, so only rows whose key occurs twice are compared in full."""
    errors = []
    # Rows are marked, and dropped once at the end: each drop copies every column.
    # One person, one name: the first row that names an ID sets it for this file.
    person = group_ids(valid, ["id_number"])
    names = group_ids(valid, ["name"])
    clash = names != names[_first_of_group(person)]
    errors.append(_errors(valid.loc[clash, "row"], "name", "NAME_MISMATCH"))
    keep = ~clash

    key = _apart(group_ids(valid, KEY[1:], within=person), ~keep)  # KEY[0]: the ID number
    repeated_key = pd.Series(key).duplicated(keep="first").to_numpy()
    exact = np.zeros(len(valid), dtype=bool)
    if repeated_key.any():
        involved = pd.Series(key).duplicated(keep=False).to_numpy()
        subset = valid.loc[involved]
        exact[np.flatnonzero(involved)] = subset.duplicated(KEY + CONTENT, keep="first").to_numpy()
    errors.append(_errors(valid.loc[repeated_key & ~exact, "row"], "course", "DUPLICATE_ROW"))
    repeats = int(exact.sum())
    keep &= ~repeated_key

    # One certificate number per issuer names one person, level, date and occupation.
    certified = valid["has_certificate"].to_numpy() & keep
    cert_key = _apart(group_ids(valid, ["issuer_id", "certificate_number"]), ~certified)
    shared = certified & pd.Series(cert_key).duplicated(keep=False).to_numpy()
    if shared.any():
        subset = valid.loc[shared]
        firsts = subset.groupby(["issuer_id", "certificate_number"], sort=False)[
            CERTIFICATE_FACTS
        ].transform("first")
        differs = (subset[CERTIFICATE_FACTS] != firsts).any(axis=1)
        bad_rows = subset.loc[differs, "row"]
        errors.append(_errors(bad_rows, "certificate_number", "CERTIFICATE_CONFLICT"))
        keep &= ~valid["row"].isin(bad_rows).to_numpy()
    if not keep.all():
        valid = valid.loc[keep]
    return valid, pd.concat(errors, ignore_index=True), repeats


def against_people(valid: pd.DataFrame, people: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adds person_id (0 for a new person) and rejects names that differ from the
    registered name of the ID."""
    merged = valid.merge(
        people.rename(columns={"id": "person_id", "name": "registered_name"}),
        on="id_number",
        how="left",
    )
    known = merged["person_id"].notna()
    clash = known & (merged["name"] != merged["registered_name"])
    errors = _errors(merged.loc[clash, "row"], "name", "NAME_MISMATCH")
    kept = merged.loc[~clash].drop(columns=["registered_name"])
    kept["person_id"] = kept["person_id"].fillna(0).astype(np.int64)
    return kept, errors


def against_certificates(
    valid: pd.DataFrame, existing: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Adds certificate_id (0: none or new). A registered certificate number of the
    same issuer must name the same person, level, date and occupation."""
    facts = existing.rename(
        columns={
            "id": "certificate_id",
            "issuer": "issuer_id",
            "number": "certificate_number",
            "id_number": "registered_id_number",
            "level": "registered_level",
            "issued_on": "registered_date",
            "occupation_code": "registered_occupation",
        }
    )
    merged = valid.merge(facts, on=["issuer_id", "certificate_number"], how="left")
    known = merged["has_certificate"] & merged["certificate_id"].notna()
    clash = known & (
        (merged["id_number"] != merged["registered_id_number"])
        | (merged["certificate_level"] != merged["registered_level"])
        | (merged["certificate_date"] != merged["registered_date"])
        | (merged["occupation_code"] != merged["registered_occupation"])
    )
    errors = _errors(merged.loc[clash, "row"], "certificate_number", "CERTIFICATE_CONFLICT")
    kept = merged.loc[~clash].drop(
        columns=[
            "registered_id_number",
            "registered_level",
            "registered_date",
            "registered_occupation",
        ]
    )
    kept["certificate_id"] = kept["certificate_id"].fillna(0).astype(np.int64)
    return kept, errors


def against_outcomes(valid: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """Adds outcome_id, `status` (new, updated or unchanged) and `written`. A row
    without a certificate keeps the certificate an earlier report linked: leaving the
    columns blank does not unlink it.

    `existing.stored_as` names rows an earlier attempt of this same report wrote (an
    import commits in parts): they keep the status that attempt gave them, and are
    `written` already."""
    previous = existing.rename(
        columns={
            "id": "outcome_id",
            "person": "person_id",
            "occupation_code": "was_occupation_code",
            "occupation_name": "was_occupation_name",
            "hours": "was_hours",
            "passed": "was_passed",
            "certificate": "was_certificate",
        }
    )
    merged = valid.merge(previous, on=["person_id", "course", "start_date", "end_date"], how="left")
    found = merged["outcome_id"].notna().to_numpy()
    was_certificate = merged["was_certificate"].fillna(0).astype(np.int64)
    certificate = np.where(merged["certificate_id"] > 0, merged["certificate_id"], was_certificate)
    same = (
        (merged["occupation_code"] == merged["was_occupation_code"])
        & (merged["occupation_name"] == merged["was_occupation_name"])
        & (merged["hours"] == merged["was_hours"])
        & (merged["passed"] == merged["was_passed"].astype("boolean").fillna(False))
        & (certificate == was_certificate)
    ).to_numpy(dtype=bool)
    merged["certificate_id"] = certificate.astype(np.int64)
    merged["outcome_id"] = merged["outcome_id"].fillna(0).astype(np.int64)
    status = np.where(~found, "new", np.where(same, "unchanged", "updated"))
    stored_as = merged["stored_as"].to_numpy(dtype=object)
    written = pd.notna(stored_as)
    merged["status"] = np.where(written, stored_as, status)
    merged["written"] = written
    return merged.drop(columns=["stored_as", *(c for c in merged.columns if c.startswith("was_"))])
