"""Disbursement batches: approved claims go out to the bank in a batch whose declared count
and total every later step re-checks (issue 6, money side)."""
