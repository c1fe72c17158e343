"""The registry: organisations now; people, skill certificates, master studios and
outcome reports as the registry issue lands."""
