"""Codes of the problems a row can have, with the message in Chinese and in English
(the error file carries both, for the institution's staff)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "REQUIRED": ("必填项为空", "required value is empty"),
    "ID_FORMAT": (
        "身份证号须为18位: 17位数字加校验码0-9或X",
        "ID number must be 17 digits and a check character 0-9 or X",
    ),
    "ID_CHECKSUM": ("身份证号校验码不正确", "ID number check character does not match (GB 11643)"),
    "ID_BIRTH_DATE": (
        "身份证号中的出生日期不是有效日期",
        "the birth date in the ID number is not a real date",
    ),
    "ID_FUTURE_BIRTH": (
        "身份证号中的出生日期晚于今天",
        "the birth date in the ID number is in the future",
    ),
    "TOO_LONG": ("内容过长", "value is too long"),
    "OCCUPATION_CODE": (
        "职业编码格式不正确, 例如 6-18-01-01",
        "occupation code must look like 6-18-01-01",
    ),
    "HOURS": ("培训课时须为1至2000的整数", "hours must be a whole number from 1 to 2000"),
    "DATE_FORMAT": ("日期格式不正确, 请用 YYYY-MM-DD", "not a date; use YYYY-MM-DD"),
    "DATE_ORDER": ("结束日期早于开始日期", "end date is before the start date"),
    "DATE_FUTURE": ("日期晚于今天", "date is in the future"),
    "PASSED_VALUE": ("是否合格须填 是/否", "passed must be yes or no (是/否)"),
    "CERTIFICATE_INCOMPLETE": (
        "证书编号、等级、发证日期须同时填写",
        "certificate number, level and date go together",
    ),
    "CERTIFICATE_LEVEL": (
        "证书等级须为1-5或等级名称",
        "certificate level must be 1-5 or a level name",
    ),
    "CERTIFICATE_NOT_PASSED": ("未合格的培训不能有证书", "a certificate needs a passed course"),
    "CERTIFICATE_BEFORE_COURSE": (
        "发证日期早于培训开始日期",
        "certificate date is before the course started",
    ),
    "CERTIFICATE_ISSUER_UNKNOWN": (
        "发证机构统一社会信用代码未登记",
        "no registered organisation has this issuer credit code",
    ),
    "CERTIFICATE_CONFLICT": (
        "该证书编号已登记给其他人或其他等级",
        "this certificate number is registered with other details",
    ),
    "NAME_MISMATCH": (
        "姓名与该身份证号已登记的姓名不一致",
        "name differs from the one registered for this ID number",
    ),
    "COLUMN_COUNT": (
        "该行的列数与表头不一致",
        "this line has a different number of fields than the header",
    ),
    "CONTROL_CHARACTER": (
        "含有控制字符(如 NUL、换行), 请删除后重新上传",
        "holds a control character (NUL, a line break, ...): remove it and upload again",
    ),
    "DUPLICATE_ROW": (
        "与文件中前面一行为同一培训记录但内容不同",
        "same person, course and dates as an earlier row, with other details",
    ),
}


def message(code: str) -> tuple[str, str]:
    return MESSAGES[code]
