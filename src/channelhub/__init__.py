"""channelhub: one canonical order model and one stock ledger for every sales channel."""

__version__ = "0.1.0"
