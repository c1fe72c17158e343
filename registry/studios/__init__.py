"""Skills master studios (技能大师工作室): applied by a host organisation, appraised
through the expert review engine (reviews/), established at a level, assessed yearly,
and revocable."""
