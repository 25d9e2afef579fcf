"""EasyPost connector: a tracker for every shipment the hub records, its reports in by webhook and by polling."""
