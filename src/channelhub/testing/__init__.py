"""Test support for connectors and the core.

- `channelhub.testing.contract.ConnectorContract`: the contract suite every connector's tests subclass;
- `channelhub.testing.pytest_plugin`: fixtures and the `contract` marker, loaded by pytest automatically;
- `channelhub.testing.fakes`: in-memory connectors for core tests.

Nothing is imported here, so `import channelhub.testing` stays cheap for the pytest plugin.
"""
