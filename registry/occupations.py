"""Occupations as the national occupational classification (国家职业分类大典) codes them,
e.g. 6-18-01-01 or 4-01-05-01-01."""

import re

CODE_PATTERN = r"\d-\d{2}-\d{2}-\d{2}(?:-\d{2})?"
_CODE = re.compile(CODE_PATTERN)
NAME_MAX = 60
CODE_REASON = "must be an occupational classification code such as 6-18-01-01"


def is_code(value: str) -> bool:
    return _CODE.fullmatch(value) is not None
