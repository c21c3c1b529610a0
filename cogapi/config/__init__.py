"""The config file: a public contract, validated completely before any AWS call.

Parsing is pure: `load_config(path)` reads YAML, validates it with pydantic (types, unknown keys,
enums) and then with `checks.cross_checks` (rules that span keys: route scopes allowed by the client,
implicit flow on a secret-holding client, ...). Every problem becomes one `(key.path, what)` pair in
a `ConfigError`, so the CLI prints `error: <file>: <key.path>: <what is wrong>` and exits 2.

Defaults that depend on other keys (`<name>-user-pool`, `<function name>-role`, ...) are filled in
by `Config.resolved()` so the rest of the program never sees a `None` name.

Layout: `model` (the pydantic models and derived names), `checks` (cross-key rules, one function
per section), `loader` (read, validate, report in file order; the JSON Schema), `yaml_doc` (bounded
YAML reading: size, depth, alias expansion; the line of every key), `example.yaml` (what `cogapi
init` writes). Imports: pydantic, PyYAML and `cogapi.errors` only.
"""

from cogapi.config.loader import json_schema, load_config, parse_config, resolve_path
from cogapi.config.model import (
    CLIENT_RECORD_TAG,
    PREFIX_RE,
    RESERVED_IN_PREFIX,
    Config,
    endpoint_problem,
    region_problem,
)

__all__ = [
    "CLIENT_RECORD_TAG",
    "PREFIX_RE",
    "RESERVED_IN_PREFIX",
    "Config",
    "endpoint_problem",
    "json_schema",
    "load_config",
    "parse_config",
    "region_problem",
    "resolve_path",
]
