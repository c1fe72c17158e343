"""Training outcomes reported by training institutions, mostly as spreadsheets:
the file format (columns), file checks, row checks, bulk storage and the import job."""
