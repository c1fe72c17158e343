"""The skills master studio grant: an established studio's host organisation is paid
the policy's amount for the studio's level, once per studio and level."""
