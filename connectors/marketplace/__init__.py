"""The marketplace flat-file connector: orders from TSV/CSV files in an inbox (local folder or SFTP), stock
feeds and shipping confirmations written to an outbox. Entry point: `connector.MarketplaceConnector`."""
