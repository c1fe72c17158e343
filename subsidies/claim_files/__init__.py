"""Claims uploaded as a CSV/XLSX file, for every scheme with a claim kind."""
