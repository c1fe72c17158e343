"""The official holiday calendar as data: each year's public holidays and adjusted
working weekends (调休上班) as the State Council publishes them, and working-day counting
on it."""
