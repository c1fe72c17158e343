"""Building blocks shared by every domain package: errors, database units of work,
masking, pagination. Nothing here imports Litestar."""
