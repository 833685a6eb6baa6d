"""Canonical entities and the mappings between each side and them (no HTTP, no AWS)."""
