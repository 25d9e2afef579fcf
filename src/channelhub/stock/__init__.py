"""The stock ledger: reserve, release, commit, restock, set and adjust; sellable quantity per channel."""
