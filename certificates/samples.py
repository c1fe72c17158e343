"""Realistic sample documents for the benchmark, the tests and previews."""

from __future__ import annotations

from datetime import date

from certificates.models import NoticeData, SummaryData, SummaryLine, TraceStep, Verification

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国志强海燕晓东春梅"


def sample_name(i: int) -> str:
    return (
        SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 13 + 3) % len(GIVEN)]
    )


def sample_verification(i: int) -> Verification:
    code = f"{i:04d}-TEST-SAMP-LE00"[:19]
    return Verification(code=code, url=f"http://127.0.0.1:8000/verify/{code}")


def sample_notice(i: int, *, issued_on: date = date(2026, 11, 28)) -> NoticeData:
    months = 1 + i % 3
    amount = months * 300000
    return NoticeData(
        verification=sample_verification(i),
        batch_number="PB-2026-000001",
        line_no=i + 1,
        reference=f"PB{1:07d}{i + 1:06d}0",
        scheme="internship",
        scheme_title_zh="“百校千人”实习补贴",
        scheme_title_en="Internship subsidy (Hundred Schools, Thousand Interns)",
        policy_source="东人社函〔2023〕56号",
        period_from=date(2026, 7, 1),
        period_to=date(2026, 9, 30),
        basis_date=date(2026, 9, 1),
        payee_kind="organisation" if i % 2 else "person",
        payee_name=(f"东莞市{sample_name(i)}精密制造有限公司" if i % 2 else sample_name(i)),
        payee_id_masked=("91441900MA5" + f"{i:07d}" if i % 2 else "4419**********123X"),
        payee_bank="中国工商银行东莞长安支行",
        payee_account_masked="************" + f"{i % 10000:04d}",
        amount_fen=amount,
        trace=(
            TraceStep(
                f"实习 {months} 个月 × 3,000 元 = {months * 3000:,} 元",
                f"{months} months x 3,000 yuan = {months * 3000:,} yuan",
            ),
            TraceStep(
                "每名实习生上限 9,000 元，此前已付 0 元",
                "cap 9,000 yuan per intern, 0 already paid",
            ),
            TraceStep("参保条件：已参保（符合）", "insured in the period: yes (passed)"),
        ),
        issued_on=issued_on,
    )


def sample_summary(count: int) -> SummaryData:
    lines = [
        SummaryLine(
            line_no=i + 1,
            reference=f"PB{1:07d}{i + 1:06d}0",
            scheme="internship",
            payee_name=sample_name(i),
            payee_id_masked="4419**********123X",
            payee_bank="中国工商银行东莞长安支行",
            payee_account_masked="6222" + "*" * 11 + f"{i % 10000:04d}",
            amount_fen=(1 + i % 3) * 300000 + (i % 7),
        )
        for i in range(count)
    ]
    return SummaryData(
        verification=sample_verification(9999),
        batch_number="PB-2026-000001",
        scheme="internship",
        period_from=date(2026, 7, 1),
        period_to=date(2026, 9, 30),
        built_by="finance-a",
        approved_by="finance-b",
        issued_on=date(2026, 11, 28),
        lines=lines,
        scheme_titles={"internship": "“百校千人”实习补贴"},
    )
