"""Leading-talent entitlements priced by the subsidy engine: the living subsidy by
instalments and the enterprise introduction reward (claims created by awards,
registry/appraisals)."""
