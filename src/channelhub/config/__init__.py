"""`channelhub.toml` -> validated pydantic models, with secrets from the environment and from files.

    database = "sqlite:///channelhub.db"   # a relative SQLite path is relative to the config file's folder
    connector_dirs = ["plugins"]           # drop-in connector folders; `connectors/` beside the config always is one
    mapping_dirs = ["mappings"]            # layout folders searched before the shipped ones
    [sync] ...  [log] ...  [http] ...  [[locations]] ...  [[channels]] ... [channels.schedule] [channels.buffers]
    [channels.settings]                    # validated by the channel's connector (its `config_model`)

Every table forbids unknown keys, so a typo is an error rather than a silently ignored setting. Secrets:

- any string may contain `${NAME}` (whole or embedded), replaced by the environment variable; an unset variable
  is an error naming the channel, the key and the variable. `$${` writes a literal `${`.
- a settings key `X_file` names a file (relative to the config folder) whose stripped content becomes the
  setting `X`, when the connector has a setting `X`; when it has only `X_file` (an SSH key, say) it receives
  the resolved path instead.

`ChannelConfig.settings` keeps the table as written (before expansion), so it never holds a secret; the
expanded values reach only the connector's config model, whose secret fields are SecretStr.

Every problem found is collected and raised at once as `InvalidConfig` (a `ConfigError`) whose `problems`
each name the file, the channel and the dotted key: `channelhub.toml: channels[amazon-uk].settings.root: field
required`.
"""

from channelhub.config.loader import load_config
from channelhub.config.models import (
    ChannelConfig,
    HttpSettings,
    HubConfig,
    InvalidConfig,
    Location,
    LogSettings,
    Schedule,
    SyncSettings,
)

__all__ = [
    "ChannelConfig",
    "HttpSettings",
    "HubConfig",
    "InvalidConfig",
    "Location",
    "LogSettings",
    "Schedule",
    "SyncSettings",
    "load_config",
]
