"""Expert review: one workflow engine for every appraisal that experts score (master
studios, leading talents). Subjects open a case; officers assign reviewers; reviewers
score or step out; the engine keeps scores sealed until the case is complete."""
