"""Internship subsidies ("百校千人"): placements registered by host enterprises, monthly
attendance reports that become claims, and the scheme's calculator."""
