"""Pure building blocks shared by the scheme calculators (no database, clock or I/O)."""
