"""Append-only, hash-chained audit log of state changes and permission denials."""
