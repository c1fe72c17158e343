"""The skill-level scheme's calculator, registered with the calculation runs
(subsidies.schemes): facts from the database (facts.py), amounts pure (amounts.py)."""

from subsidies.schemes import SchemeCalculator, register
from subsidies.skill_levels.amounts import SCHEME, calculate
from subsidies.skill_levels.facts import load_inputs

CALCULATOR = register(SchemeCalculator(SCHEME, load_inputs, calculate))
