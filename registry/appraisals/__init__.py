"""Leading-talent appraisals (技能领军人才): rounds, applications on two routes, expert
review, public notice with objections, approval, awards and their entitlements."""
