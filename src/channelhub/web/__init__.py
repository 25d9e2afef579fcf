"""The hub's HTTP face."""
