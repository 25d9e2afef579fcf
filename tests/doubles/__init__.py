"""Test doubles of vendor APIs (DESIGN.md: they live under tests/, never in a shipped package)."""
