"""The shipped flat-file layouts (YAML). A channel's `mapping_dirs` are searched before this folder, so a
merchant overrides a shipped layout by dropping a file of the same name there."""

from pathlib import Path

MAPPINGS_DIR = Path(__file__).parent

__all__ = ["MAPPINGS_DIR"]
