"""Registers the two leading-talent calculators with the calculation runs
(subsidies.schemes): inputs from the database (inputs.py), amounts pure (amounts.py)."""

from subsidies.leading_talents.amounts import (
    INTRODUCTION,
    LIVING,
    calculate_introduction,
    calculate_living,
)
from subsidies.leading_talents.inputs import load_introduction, load_living
from subsidies.schemes import SchemeCalculator, register

LIVING_CALCULATOR = register(SchemeCalculator(LIVING, load_living, calculate_living))
INTRODUCTION_CALCULATOR = register(
    SchemeCalculator(INTRODUCTION, load_introduction, calculate_introduction)
)
