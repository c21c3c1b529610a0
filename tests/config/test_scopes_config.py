"""Custom scopes, resource servers and machine clients in the config: each bad case names its key.

The rules: every `<identifier>/<scope>` a client or a route names is defined by a resource server;
a route's scope is grantable by some client (the app client or a machine client); machine clients
take custom scopes only and have no user-facing keys; names follow Cognito's patterns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cogapi.config import parse_config
from cogapi.errors import ConfigError
from tests.helpers import run_cli

BASE = "name: shop\ndomain: {prefix: shop-auth}\n"
ORDERS = {
    "identifier": "orders",
    "name": "Orders API",
    "scopes": [
        {"name": "read", "description": "Read orders"},
        {"name": "write", "description": "Change orders"},
    ],
}


def text(**sections: Any) -> str:
    doc: dict[str, Any] = {"resource_servers": [ORDERS]}
    doc.update(sections)
    return BASE + yaml.safe_dump(doc, default_flow_style=None, sort_keys=False)


def problems(body: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(body, "cfg.yaml", Path("/nonexistent-base"))
    return info.value.problems


def test_the_issue_example_is_valid() -> None:
    cfg = parse_config(
        text(
            machine_clients=[
                {
                    "name": "reporting",
                    "scopes": ["orders/read"],
                    "token_validity": {"access": "1h"},
                },
                {"name": "fulfilment", "scopes": ["orders/read", "orders/write"]},
            ],
            app_client={"oauth_scopes": ["openid", "email", "orders/read"]},
            api={
                "routes": [
                    {"path": "/orders", "method": "GET", "scopes": ["orders/read"]},
                    {"path": "/orders", "method": "POST", "scopes": ["orders/write"]},
                ]
            },
        ),  # fmt: skip
        "cfg.yaml",
        Path("/nonexistent-base"),
    )
    assert cfg.custom_scopes == ["orders/read", "orders/write"]
    assert [m.name for m in cfg.machine_clients] == ["reporting", "fulfilment"]
    assert cfg.machine_clients[1].token_validity.access_minutes() == 60


def test_a_url_identifier_is_valid() -> None:
    server = {**ORDERS, "identifier": "https://api.example.com"}
    cfg = parse_config(
        BASE
        + yaml.safe_dump(
            {
                "resource_servers": [server],
                "machine_clients": [{"name": "svc", "scopes": ["https://api.example.com/read"]}],
            }
        ),  # fmt: skip
        "cfg.yaml",
    )
    assert cfg.custom_scopes[0] == "https://api.example.com/read"


# fmt: off
BAD: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("route-scope-undefined",
     text(api={"routes": [{"path": "/o", "scopes": ["orders/delete"]}]}),
     "api.routes[0].scopes[0]", ("'orders/delete'", "not a scope of any resource_servers")),
    ("route-scope-no-client",
     text(api={"routes": [{"path": "/o", "scopes": ["orders/read"]}]}),
     "api.routes[0].scopes[0]", ("'orders/read'", "app_client.oauth_scopes", "machine_clients", "no token can carry it")),
    ("machine-scope-undefined",
     text(machine_clients=[{"name": "svc", "scopes": ["billing/read"]}]),
     "machine_clients[0].scopes[0]", ("'billing/read'", "not a scope of any resource_servers")),
    ("machine-standard-scope",
     text(machine_clients=[{"name": "svc", "scopes": ["openid"]}]),
     "machine_clients[0].scopes[0]", ("'openid'", "custom scopes", "only")),
    ("machine-no-scopes", text(machine_clients=[{"name": "svc", "scopes": []}]),
     "machine_clients[0].scopes", ("at least 1 item",)),
    ("machine-callback-url",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"], "callback_urls": ["https://x.example.com/"]}]),
     "machine_clients[0].callback_urls", ("unknown key",)),
    ("machine-flows",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"], "oauth_flows": ["code"]}]),
     "machine_clients[0].oauth_flows", ("unknown key",)),
    ("machine-no-secret",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"], "generate_secret": False}]),
     "machine_clients[0].generate_secret", ("unknown key",)),
    ("machine-id-token",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"], "token_validity": {"id": "1h"}}]),
     "machine_clients[0].token_validity.id", ("unknown key",)),
    ("machine-validity-range",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"], "token_validity": {"access": "2d"}}]),
     "machine_clients[0].token_validity.access", ("2880 minutes", "outside")),
    ("machine-name-pattern",
     text(machine_clients=[{"name": "svc/1", "scopes": ["orders/read"]}]),
     "machine_clients[0].name", ("pattern",)),
    ("machine-name-twice",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read"]}, {"name": "svc", "scopes": ["orders/write"]}]),
     "machine_clients[1].name", ("'svc'", "another machine client")),
    ("machine-name-is-app-client",
     text(machine_clients=[{"name": "shop-client", "scopes": ["orders/read"]}]),
     "machine_clients[0].name", ("'shop-client'", "the app client")),
    ("machine-scope-twice",
     text(machine_clients=[{"name": "svc", "scopes": ["orders/read", "orders/read"]}]),
     "machine_clients[0].scopes", ("listed twice",)),
    ("app-client-scope-undefined",
     text(app_client={"oauth_scopes": ["openid", "email", "orders/admin"]}),
     "app_client.oauth_scopes[2]", ("'orders/admin'", "not a scope of any resource_servers")),
    ("identifier-space",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "identifier": "my orders"}]}),
     "resource_servers[0].identifier", ("'my orders'", "not a valid resource server identifier")),
    ("identifier-too-long",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "identifier": "o" * 257}]}),
     "resource_servers[0].identifier", ("not a valid resource server identifier",)),
    ("identifier-twice",
     BASE + yaml.safe_dump({"resource_servers": [ORDERS, ORDERS]}),
     "resource_servers[1].identifier", ("'orders'", "listed twice")),
    ("scope-name-slash",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "scopes": [{"name": "a/b", "description": "x"}]}]}),
     "resource_servers[0].scopes[0].name", ("'a/b'", "not a valid scope name", "'/'")),
    ("scope-name-twice",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "scopes": [{"name": "r", "description": "x"}, {"name": "r", "description": "y"}]}]}),
     "resource_servers[0].scopes[1].name", ("'r'", "listed twice")),
    ("scope-no-description",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "scopes": [{"name": "r"}]}]}),
     "resource_servers[0].scopes[0].description", ("required key is missing",)),
    ("server-name-pattern",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "name": "Orders/API"}]}),
     "resource_servers[0].name", ("pattern",)),
    ("full-scope-too-long",
     BASE + yaml.safe_dump({"resource_servers": [{**ORDERS, "identifier": "i" * 200, "scopes": [{"name": "s" * 60, "description": "x"}]}]}),
     "resource_servers[0].scopes[0].name", ("longer than 256",)),
    ("credentials-app-client-standard-scope",
     text(app_client={"generate_secret": True, "oauth_flows": ["client_credentials"], "oauth_scopes": ["orders/read", "email"]},
          api={"routes": [{"path": "/o", "scopes": ["orders/read"]}]}),
     "app_client.oauth_scopes[1]", ("'email'", "custom scopes")),
]
# fmt: on


@pytest.mark.parametrize(("body", "key", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_scope_config_names_the_key_path(body: str, key: str, words: tuple[str, ...]) -> None:
    found = problems(body)
    assert [k for k, _ in found] == [key], found
    for word in words:
        assert word in found[0][1], (word, found[0][1])


def test_a_route_scope_only_a_machine_client_grants_is_valid() -> None:
    # Replaces the old rule (a route scope must be in app_client.oauth_scopes).
    parse_config(
        text(
            machine_clients=[{"name": "svc", "scopes": ["orders/write"]}],
            api={"routes": [{"path": "/o", "method": "POST", "scopes": ["orders/write"]}]},
        ),
        "cfg.yaml",
    )


def test_the_cli_refuses_before_any_aws_call(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(text(machine_clients=[{"name": "svc", "scopes": ["billing/read"]}]))
    run = run_cli("up", "-c", str(path), "--dry-run")
    assert run.exit_code == 2
    assert run.calls == []
    assert f"{path}: machine_clients[0].scopes[0]: 'billing/read'" in run.stderr


def test_machine_client_names_must_fit_the_pool_tag_that_records_them() -> None:
    def clients(*names: str) -> str:
        return text(machine_clients=[{"name": n, "scopes": ["orders/read"]} for n in names])

    # 2 x 128 characters plus the "/" between: one more than a tag value holds.
    found = problems(clients("a" * 128, "b" * 128))
    assert [k for k, _ in found] == ["machine_clients"]
    assert "257 characters" in found[0][1] and "cogapi:machine-clients" in found[0][1]
    parse_config(clients("a" * 128, "b" * 127), "cfg.yaml", Path("/nonexistent-base"))
    # A tab is a Cognito client name character, but no tag value holds one; a comma is written
    # as ":" in the record, so it is fine.
    found = problems(clients("nightly\tjob"))
    assert [k for k, _ in found] == ["machine_clients[0].name"]
    assert "'\\t'" in found[0][1]
    parse_config(clients("nightly, weekly"), "cfg.yaml", Path("/nonexistent-base"))
