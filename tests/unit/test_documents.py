"""Rendering: the PDFs carry extractable Chinese text (names, amounts, capitals), the
same data gives the same bytes, verification codes, summary pagination."""

import io
import re
from dataclasses import replace
from datetime import date

from pypdf import PdfReader

from certificates import codes, rendering, samples
from certificates.models import (
    AwardCertificateData,
    StudioCertificateData,
    VoucherData,
)
from certificates.pages import display_width, fit, listing_row, paginate


def text_of(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_notice_text_is_extractable_chinese():
    notice = replace(samples.sample_notice(0), payee_name="欧阳晓燕", amount_fen=900_000)
    pages, text = text_of(rendering.render_notice(notice))
    assert pages == 1
    for expected in (
        "补贴发放通知书",
        "欧阳晓燕",
        "¥9,000.00",
        "人民币玖仟元整",
        "4419**********123X",
        "“百校千人”实习补贴",
        "东人社函〔2023〕56号",
        "每名实习生上限 9,000 元",
        notice.verification.code,
        "2026年11月28日",
    ):
        assert expected in text, expected


def test_same_notice_gives_the_same_bytes_alone_or_in_a_chunk():
    notices = [samples.sample_notice(i) for i in range(4)]
    chunk = rendering.render_notices(notices)
    assert len(chunk) == 4
    assert rendering.render_notice(notices[2]) == chunk[2]
    assert rendering.render_notice(notices[2]) == rendering.render_notice(notices[2])
    assert len(set(chunk)) == 4
    for notice, pdf in zip(notices, chunk, strict=True):
        _, text = text_of(pdf)
        assert notice.payee_name in text and notice.reference in text
        others = [n.reference for n in notices if n is not notice]
        assert not any(ref in text for ref in others)  # a notice holds its own page only


def test_a_long_trace_spills_onto_more_pages_of_its_own_notice():
    long = replace(
        samples.sample_notice(1),
        trace=tuple(samples.sample_notice(1).trace) * 12,
    )
    pdfs = rendering.render_notices([samples.sample_notice(0), long, samples.sample_notice(2)])
    counts = [text_of(p)[0] for p in pdfs]
    assert counts[0] == counts[2] == 1 and counts[1] >= 2
    assert samples.sample_notice(2).reference not in text_of(pdfs[1])[1]


def test_summary_pages_subtotals_grand_total_and_page_numbers():
    data = samples.sample_summary(70)
    pages, text = text_of(rendering.render_summary(data))
    layout = paginate(data.lines)
    assert pages == len(layout) == 4  # 28 + 28 + 14 rows, then the totals page
    total = sum(line.amount_fen for line in data.lines)
    assert f"第 1 页 / 共 {pages} 页" in text and f"第 {pages} 页 / 共 {pages} 页" in text
    assert rendering.figures(layout[0].subtotal_fen) in text
    assert rendering.figures(total) in text
    assert "人民币" + rendering.capital_amount(total) in text
    assert "经办人" in text and "finance-a" in text and "finance-b" in text
    for line in data.lines:
        assert line.payee_name in text and line.reference in text


def test_paginate_subtotals_add_up_and_totals_get_room():
    data = samples.sample_summary(28 * 2)
    layout = paginate(data.lines)
    # A full last page would leave the totals alone under an empty listing: the rows
    # that fit beside the totals move to the last page instead.
    assert [len(p.lines) for p in layout] == [28, 18, 10]
    assert sum(p.subtotal_fen for p in layout) == layout[-1].carried_fen
    assert layout[-1].carried_fen == sum(x.amount_fen for x in data.lines)
    assert [p.last for p in layout] == [False, False, True]
    assert [len(p.lines) for p in paginate([])] == [0]
    # A wrapped row takes two of a page's lines.
    long = [
        replace(x, payee_name="东莞市" + "长安精密模具制造" * 2 + "有限公司") for x in data.lines
    ]
    assert [len(p.lines) for p in paginate(long)] == [14, 14, 14, 9, 5]


def test_summary_never_ends_on_an_empty_listing():
    for count in (28, 56, 38):
        _, text = text_of(rendering.render_summary(samples.sample_summary(count)))
        assert "本页小计 Page subtotal（0 笔）" not in text and "¥0.00" not in text
        last = text[text.rindex("补贴发放批次汇总表") :]
        assert "合计 Grand total" in last and "本页小计" in last, count


def test_summary_shows_accounts_schemes_and_signers_as_read():
    from certificates.batch_jobs import summary_for

    line = {
        "line_no": 1, "reference": "PB00000010000010", "scheme": "skill_level",
        "payee_name": "东莞市长安镇精密模具制造科技有限公司", "payee_kind": "organisation",
        "organisation_credit_code": "91441900MA5000001X", "payee_bank": "中国工商银行东莞长安支行",
        "payee_account": "6222020110012345678", "amount_fen": 150_000, "policy_version_id": None,
    }  # fmt: skip
    batch = {
        "number": "PB-2026-000001", "scheme": "skill_level", "period_from": None,
        "period_to": None, "built_by": "staff:4:demo-finance-a", "approved_by": "staff:9:gone",
        "approved_at": None,
    }  # fmt: skip
    signed = {"staff:4:demo-finance-a": "财务甲（财务人员）"}
    data = summary_for([line], batch, {}, samples.sample_verification(1), signed)
    assert data.lines[0].payee_account_masked == "6222***********5678"
    assert data.built_by == "财务甲（财务人员）" and data.approved_by == "staff:9:gone"
    _, text = text_of(rendering.render_summary(data))
    flat = re.sub(r"\s+", "", text)
    assert "6222***********5678" in flat  # whole, never cut to "**.."
    assert "技能等级提升资助" in text and "skill_level" not in text
    # Wrapped onto a second line of its row, not cut.
    assert "东莞市长安镇精密模具制造科技有" in text and "限公司" in text and ".." not in text
    assert "财务甲（财务人员）" in text


def test_signers_read_staff_labels():
    from accounts.signers import signed_as, staff_id

    staff = {4: {"username": "demo-finance-a", "display_name": "财务甲", "roles": "finance,admin"}}
    assert signed_as("staff:4:demo-finance-a", staff) == "财务甲（系统管理员、财务人员）"
    assert signed_as("staff:4:someone-else", staff) == "staff:4:someone-else"
    assert signed_as("system:batches", staff) == "system:batches"
    assert staff_id("staff:12:a:b") == 12 and staff_id("org:3:key:x") is None


def test_internship_notice_names_the_intern_and_the_month():
    notice = replace(
        samples.sample_notice(1),
        person_name="欧阳晓燕",
        person_id_masked="4419**********123X",
        month=date(2026, 9, 1),
        period_from=None,
        period_to=None,
    )
    _, text = text_of(rendering.render_notice(notice))
    assert "实习生 Intern" in text and "欧阳晓燕" in text
    assert "补贴月份 Month paid" in text and "2026年9月" in text
    assert "—" not in text


def test_listing_columns_align_by_display_width():
    assert display_width("王伟A") == 5
    assert fit("东莞市长安镇精密制造有限公司", 10) == "东莞市长.."
    assert display_width(fit("东莞市长安镇精密制造有限公司", 11)) == 11
    row = listing_row(["1", "PB1", "s", "欧阳晓燕", "id", "银行", "acct", "¥1.00"])
    plain = listing_row(["1", "PB1", "s", "abcdefgh", "id", "yh12", "acct", "¥1.00"])
    assert display_width(row) == display_width(plain)


def test_award_studio_and_voucher_documents():
    v = samples.sample_verification(5)
    award = AwardCertificateData(
        v, "LT-2026-0001", "王伟", "4419**********123X", "recognition", "数控车工",
        date(2026, 5, 1), "东人社发〔2022〕20号", date(2026, 5, 2),
    )  # fmt: skip
    studio = StudioCertificateData(
        v, "MS-2026-0001", "李强数控工作室", "李强", "东莞市精密有限公司", "province",
        "数控车工", date(2026, 5, 1), date(2026, 5, 2),
    )  # fmt: skip
    voucher = VoucherData(
        v, "DGV-2026-7K3Q-H9MW-XAZ", "张敏", "4419**********123X", 150_000, (5, 4, 3),
        date(2026, 1, 1), date(2026, 12, 31),
    )  # fmt: skip
    _, text = text_of(rendering.render_award_certificate(award))
    assert "技能领军人才证书" in text and "王伟" in text and "认定" in text and v.code in text
    _, text = text_of(rendering.render_studio_certificate(studio))
    assert "李强数控工作室" in text and "省级" in text
    _, text = text_of(rendering.render_voucher(voucher))
    assert "张敏" in text and "人民币壹仟伍佰元整" in text and "初级工、中级工、高级工" in text
    assert "东莞市人力资源和社会保障局" in text and "签发日期" in text and "2026年1月1日" in text


def test_voucher_frames_one_a4_page():
    v = samples.sample_verification(5)
    voucher = VoucherData(
        v, "DGV-2026-7K3Q-H9MW-XAZ", "张敏", "4419**********123X", 150_000, (5, 4, 3),
        date(2026, 12, 8), date(2027, 12, 7),
    )  # fmt: skip
    reader = PdfReader(io.BytesIO(rendering.render_voucher(voucher)))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    html = rendering.html_of("voucher.html", title="", created="", d=voucher)
    assert "height: 272mm" in html  # the frame: 297 mm less two 12 mm margins, less 1 mm
    assert "签发日期" in html and "2026年12月8日" in html


def test_verification_codes():
    made = {codes.new_code() for _ in range(2_000)}
    assert len(made) == 2_000
    for code in list(made)[:50]:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
        assert codes.normalise(code.lower().replace("-", " ")) == code
    assert codes.normalise("7kq2 m9dx 4ht0 vb3n") == "7KQ2-M9DX-4HT0-VB3N"
    assert codes.normalise("OIL0-0000-0000-0000") == "0110-0000-0000-0000"
    for bad in ("", "7KQ2-M9DX", "7KQ2-M9DX-4HT0-VB3U", "7KQ2-M9DX-4HT0-VB3N-X", "../etc"):
        assert codes.normalise(bad) is None


def test_qr_codes_point_at_the_public_address():
    import pytest

    from app.settings import Settings
    from certificates.urls import verify_base_url, verify_url

    public = Settings.from_env({"PUBLIC_BASE_URL": " https://rsj.dg.gov.cn/skills/ "})
    assert verify_url(verify_base_url(public), "7KQ2-M9DX-4HT0-VB3N") == (
        "https://rsj.dg.gov.cn/skills/verify/7KQ2-M9DX-4HT0-VB3N"
    )
    local = Settings.from_env({"HOST": "0.0.0.0", "PORT": "8080"})
    assert verify_base_url(local) == "http://127.0.0.1:8080"
    bad_urls = ("rsj.dg.gov.cn", "ftp://rsj.dg.gov.cn", "https://", "https://a.cn/?x=1",
                "https://a.cn/#top", "https://user:pw@a.cn")  # fmt: skip
    for bad in bad_urls:
        with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
            Settings.from_env({"PUBLIC_BASE_URL": bad})


def test_notice_jobs_split_lines_and_mask_the_public_summary():
    from certificates.batch_jobs import _ranges, mask_account, notice_summary
    from kernel.masking import mask_name

    assert _ranges([1, 2, 3, 4, 5], 2) == [(1, 2), (3, 4), (5, 5)]
    assert _ranges([2, 7, 9], 200) == [(2, 9)]
    assert _ranges([], 5) == []
    assert mask_account("6216610000012345678") == "*" * 15 + "5678"
    assert mask_name("欧阳晓燕") == "欧***" and mask_name("王") == "王*"
    person = replace(samples.sample_notice(0), payee_name="欧阳晓燕", amount_fen=1)
    shown = notice_summary(person)
    assert shown["payee"] == "欧***" and shown["amount_in_words"] == "壹分"
    assert "欧阳晓燕" not in str(shown) and "account" not in str(shown)
    organisation = samples.sample_notice(1)
    assert notice_summary(organisation)["payee"] == organisation.payee_name


def test_content_addressed_storage(tmp_path):
    import pytest

    from certificates import storage

    digest, rel = storage.store(tmp_path, b"%PDF-1.7 one")
    assert rel == f"documents/{digest[:2]}/{digest[2:4]}/{digest}.pdf"
    assert (tmp_path / rel).read_bytes() == b"%PDF-1.7 one"
    assert storage.store(tmp_path, b"%PDF-1.7 one") == (digest, rel)  # stored once
    assert storage.store(tmp_path, b"%PDF-1.7 two")[0] != digest
    assert not list(tmp_path.rglob(".incoming-*"))
    assert storage.absolute(tmp_path, rel) == (tmp_path / rel).resolve()
    with pytest.raises(ValueError):
        storage.absolute(tmp_path, "../../etc/passwd")


def test_threads_rendering_at_once_get_the_bytes_of_one_at_a_time(capfd):
    """Worker threads share a process: rendering must be serialised inside it (Pango and
    fontconfig are not thread-safe; unserialised, GLib reports corrupted lists on
    stderr). The race is not certain: with the lock removed this failed in about two
    runs of three here. Many short renders overlap their starts most often."""
    from concurrent.futures import ThreadPoolExecutor

    groups = [[samples.sample_notice(10 * g + i) for i in range(2)] for g in range(4)]
    expected = [rendering.render_notices(group) for group in groups]
    capfd.readouterr()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(12):
            got = list(pool.map(rendering.render_notices, groups))
            assert got == expected
    assert "GLib" not in capfd.readouterr().err
