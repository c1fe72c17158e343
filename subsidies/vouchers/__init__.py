"""Skill training vouchers (技能培训券): issued to people insured in Dongguan, redeemed
once by a training institution when it enrols the holder, reimbursed to that
institution as a claim once it has reported a passed outcome."""
