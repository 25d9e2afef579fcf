"""Test doubles of vendor APIs (DESIGN.md, "Test doubles"): importable from tests and bench as `doubles.<vendor>`,
never from the shipped packages (src/, connectors/). pytest puts tests/ on sys.path (pyproject `pythonpath`);
scripts outside pytest (bench/, the cassette recorders) add it themselves."""
