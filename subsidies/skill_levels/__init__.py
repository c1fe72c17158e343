"""The skill-level talent subsidy ("莞能提升"): its calculator, employment reports (who is
employed and insured in Dongguan), the automatic "policy finds people" scan, and what a
certificate's revocation does to the claims based on it."""
