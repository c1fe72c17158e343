"""Times and codes as people read them in files and pages: Beijing time to the second,
Chinese labels with the code kept where a column asks for it."""

from datetime import UTC, date, datetime

from kernel import labels
from kernel.local_time import beijing_day, beijing_time, cn_date
from registry.exports import Column, csv_cell


def test_beijing_time_to_the_second():
    moment = datetime(2026, 12, 7, 19, 51, 51, 758300, tzinfo=UTC)
    assert beijing_time(moment) == "2026-12-08 03:51:51"
    assert beijing_time(moment.replace(tzinfo=None)) == "2026-12-08 03:51:51"  # naive is UTC
    assert beijing_time(None) == ""
    assert beijing_day(moment) == "2026-12-08" and beijing_day(date(2026, 1, 2)) == "2026-01-02"
    assert cn_date(date(2026, 12, 8)) == "2026年12月8日"


def test_export_cells_read_in_chinese():
    moment = datetime(2026, 12, 7, 19, 51, 51, 758300, tzinfo=UTC)
    assert csv_cell(Column("at", "时间", "at", "datetime"), moment) == "2026-12-08 03:51:51"
    assert csv_cell(Column("sex", "性别", "sex", labels=labels.SEX), "M") == "男"
    assert csv_cell(Column("hukou", "户籍", "hukou", labels=labels.HUKOU), "unknown") == "未知"
    route = Column("route", "评价途径", "route", labels=labels.CERTIFICATE_ROUTE)
    assert csv_cell(route, "social_evaluation_organisation") == "社会评价组织"
    assert csv_cell(route, "new_route") == "new_route"  # an unknown code reads as itself
    assert csv_cell(Column("route", "评价途径代码", "route code"), "competition") == "competition"
    assert csv_cell(Column("passed", "是否合格", "passed", "bool"), True) == "是"
    assert csv_cell(Column("late", "逾期", "late", "bool"), False) == "否"
    assert csv_cell(Column("level", "等级", "level", labels=labels.LEVEL), 5) == "初级工"
