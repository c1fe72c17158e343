"""The contract between the calculation runs (subsidies/claims/calculation.py) and each
scheme's calculator. A scheme registers one `SchemeCalculator`:

- `load_inputs(claims)` (async, reads the database): `claims` is a DataFrame of the
  claims to calculate with columns id, person_id, claimant_id, payee_organisation_id,
  certificate_id, basis_date (datetime64), budget_year, details (dict). It returns one
  row per claim, indexed by claim id, holding everything the pure calculator needs: the
  vocabulary facts its policy conditions may name (subsidies.policies.documents.
  SCHEME_FACTS), the scheme's own inputs, and `cap_key` (str, or None if no cap spans
  claims). The run adds `already_fen`: what other live claims of the same cap_key hold.
- `calculate(inputs, policy)` (pure: no database, clock or I/O; vectorised): returns a
  frame indexed like `inputs` with `amount_fen` (int64, fen) and `trace` (per row a list
  of {"zh": ..., "en": ...} steps explaining the amount, e.g. "3 months x 3,000 = 9,000;
  cap 9,000 per intern, 0 already paid"). The run zeroes rows whose policy conditions
  fail and puts the failed conditions first in their trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pandas as pd

from subsidies.policies.documents import Policy

LoadInputs = Callable[[pd.DataFrame], Awaitable[pd.DataFrame]]
Calculate = Callable[[pd.DataFrame, Policy], pd.DataFrame]


@dataclass(frozen=True)
class SchemeCalculator:
    scheme: str
    load_inputs: LoadInputs
    calculate: Calculate


_CALCULATORS: dict[str, SchemeCalculator] = {}

# Modules whose import registers a calculator (imported by the runs and the API).
CALCULATOR_MODULES = (
    "subsidies.internships.calculator",
    "subsidies.vouchers.calculator",
    "subsidies.skill_levels.calculator",
    "subsidies.studio_grants.calculator",
    "subsidies.leading_talents.calculator",
)


def register(calculator: SchemeCalculator) -> SchemeCalculator:
    held = _CALCULATORS.get(calculator.scheme)
    if held is not None and held != calculator:
        raise ValueError(f"scheme {calculator.scheme!r} has a calculator already")
    _CALCULATORS[calculator.scheme] = calculator
    return calculator


def calculator_for(scheme: str) -> SchemeCalculator:
    import importlib

    for module in CALCULATOR_MODULES:
        importlib.import_module(module)
    try:
        return _CALCULATORS[scheme]
    except KeyError:
        raise LookupError(f"scheme {scheme!r} has no calculator") from None
