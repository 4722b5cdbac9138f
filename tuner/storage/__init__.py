"""Where a project's state lives: the project directory (default) or memory."""

from tuner.storage.base import FORMAT_VERSION, Storage
from tuner.storage.json_dir import JsonDirStorage, read_json, write_json_atomic
from tuner.storage.layout import ProjectLayout
from tuner.storage.memory import InMemoryStorage

__all__ = [
    "FORMAT_VERSION",
    "InMemoryStorage",
    "JsonDirStorage",
    "ProjectLayout",
    "Storage",
    "read_json",
    "write_json_atomic",
]
