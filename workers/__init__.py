"""Durable jobs: the outbox table, the broker, Dramatiq actors and the sweeper."""
