"""The appraisal workflow's "today" (Beijing date). One seam, so tests can set the day
a notice runs or ends without waiting ten working days."""

from datetime import date

from kernel.clock import local_today


def today() -> date:
    return local_today()
