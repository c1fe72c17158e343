"""What people read for the codes the system stores: one table per field, code ->
Chinese. Exports put these beside (or instead of) the codes, and documents print them.
Kept here, below every domain, so a file or a PDF of any domain names things alike.
A code missing from its table is shown as itself, so a new code reads as-is, never
as a blank."""

from __future__ import annotations

from collections.abc import Mapping

SEX = {"M": "男", "F": "女"}

HUKOU = {"local": "本市户籍", "non_local": "非本市户籍", "unknown": "未知"}

# The five national vocational skill levels (1 highest); registry.levels names them too.
LEVEL = {1: "高级技师", 2: "技师", 3: "高级工", 4: "中级工", 5: "初级工"}

CERTIFICATE_ROUTE = {
    "enterprise_self_evaluation": "企业自主评价",
    "social_evaluation_organisation": "社会评价组织",
    "technical_school": "技工院校",
    "vocational_qualification": "职业资格",
    "competition": "职业技能竞赛",
}

CERTIFICATE_STATUS = {"valid": "有效", "revoked": "已撤销"}

# Short enough for a column of the batch summary (at most eight characters).
SCHEME = {
    "internship": "实习补贴",
    "training_voucher": "培训券补贴",
    "skill_level": "技能等级提升资助",
    "leading_talent_living": "领军人才生活补贴",
    "leading_talent_introduction": "引进领军人才奖励",
    "studio_grant": "大师工作室资助",
}

CLAIM_STATUS = {
    "proposed": "待确认",
    "submitted": "已提交",
    "calculated": "已核算",
    "approved": "已审批",
    "rejected": "不予发放",
    "on_hold": "暂停发放",
    "paid": "已发放",
    "withdrawn": "已撤回",
}

BATCH_STATUS = {
    "draft": "草稿",
    "submitted": "已提交",
    "approved": "已审批",
    "closed": "已结束",
    "failed": "已失效",
    "cancelled": "已取消",
    "released": "已释放",
}

PAYMENT_STATUS = {
    "pending": "待支付",
    "paid": "已支付",
    "failed": "支付失败",
    "cancelled": "已取消",
}

STAFF_ROLE = {
    "reviewer": "评审专家",
    "officer": "业务经办人",
    "finance": "财务人员",
    "auditor": "审计人员",
    "admin": "系统管理员",
}

YES_NO = {True: "是", False: "否"}


def label(table: Mapping[object, str], code: object) -> str:
    """The Chinese for `code`, or the code itself when the table has none; None as ""."""
    if code is None:
        return ""
    return table.get(code, str(code))
