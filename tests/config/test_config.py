"""The config file as a contract: every class of bad config is refused with its key path.

Pure tests call `parse_config` / `load_config` and compare `ConfigError.problems` (a list of
`(key.path, message)` pairs) exactly on the key path and loosely on the message (the words a
person needs to fix it). The CLI tests run the real `cogapi` command group through click's
`CliRunner` and pin the user-facing contract: exit status 2, one `error: <file>: <key.path>: ...`
line per problem on stderr, nothing on stdout, no traceback, and no AWS request at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cogapi.cli import cli
from cogapi.config import PREFIX_RE, RESERVED_IN_PREFIX, Config, load_config, parse_config
from cogapi.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "cogapi" / "config" / "example.yaml"
BASE = "name: shop\ndomain: {prefix: shop-auth}\n"
FILE = "cfg.yaml"


def parse(text: str, base_dir: Path | None = None) -> Config:
    return parse_config(text, FILE, base_dir or Path("/nonexistent-base"))


def problems(text: str, base_dir: Path | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse(text, base_dir)
    err = info.value
    assert err.path == FILE
    assert err.exit_status == 2
    # Every problem is printed as "<file>: <key.path>: <what>" (or "<file>: <what>" at top level).
    assert err.lines == [f"{FILE}: {k}: {m}" if k else f"{FILE}: {m}" for k, m in err.problems]
    return err.problems


def with_base(**sections: Any) -> str:
    """BASE plus the given top-level sections, as YAML."""
    return BASE + yaml.safe_dump(sections, default_flow_style=None, sort_keys=False)


# ---- every class of bad config: (id, text, exact key path, words the message must hold) ------

LONG_PREFIX = "a" * 64
# fmt: off
BAD: list[tuple[str, str, str, tuple[str, ...]]] = [
    # YAML itself
    ("yaml-syntax", "name: shop\n  domain: x: y\n", "line 2, column 9", ("not valid YAML", "mapping values")),
    ("yaml-unclosed", "name: [shop\n", "line 2, column 1", ("not valid YAML",)),
    ("empty-file", "", "", ("the file is empty",)),
    ("only-comments", "# nothing here\n\n", "", ("the file is empty",)),
    ("top-level-list", "- name: shop\n", "", ("top level must be a mapping",)),
    ("top-level-scalar", "shop\n", "", ("top level must be a mapping",)),
    # required keys
    ("missing-name", "domain: {prefix: shop-auth}\n", "name", ("required key is missing",)),
    ("missing-domain", "name: shop\n", "domain", ("required key is missing",)),
    # unknown keys, top level and nested at several depths
    ("unknown-top", BASE + "colour: red\n", "colour", ("unknown key",)),
    ("unknown-nested", with_base(user_pool={"mfaa": "optional"}), "user_pool.mfaa", ("unknown key",)),
    ("unknown-deep", with_base(app_client={"token_validity": {"acess": "1h"}}), "app_client.token_validity.acess", ("unknown key",)),
    ("unknown-in-list", with_base(api={"routes": [{"path": "/a", "verb": "GET"}]}), "api.routes[0].verb", ("unknown key",)),
    # wrong types and ranges
    ("type-bool", BASE + "user_pool: {self_sign_up: maybe}\n", "user_pool.self_sign_up", ("valid boolean",)),
    ("type-int", with_base(function={"memory_mb": "lots"}), "function.memory_mb", ("valid integer",)),
    ("type-mapping", "name: shop\ndomain: shop-auth\n", "domain", ("valid dictionary",)),
    ("type-tags", with_base(tags=["team"]), "tags", ("valid dictionary",)),
    ("range-memory", with_base(function={"memory_mb": 64}), "function.memory_mb", ("greater than or equal to 128",)),
    ("range-ttl", with_base(api={"authorizer": {"result_ttl_s": 7200}}), "api.authorizer.result_ttl_s", ("less than or equal to 3600",)),
    # One problem, one line: the `"default" | {...}` union must not add a stray
    # "Input should be 'default'" line at user_pool.password_policy.
    ("type-password-policy", with_base(user_pool={"password_policy": {"min_length": 3}}),
     "user_pool.password_policy.min_length", ("greater than or equal to 6",)),
    # enums
    ("enum-mfa", with_base(user_pool={"mfa": "sometimes"}), "user_pool.mfa", ("'off'", "'optional'", "'required'")),
    ("enum-method", with_base(api={"routes": [{"path": "/a", "method": "FETCH"}]}), "api.routes[0].method", ("'GET'", "'POST'", "'ANY'")),
    ("enum-endpoint", with_base(api={"endpoint_type": "PRIVATE"}), "api.endpoint_type", ("'REGIONAL'", "'EDGE'")),
    ("enum-flow", with_base(app_client={"oauth_flows": ["password"]}), "app_client.oauth_flows[0]", ("'code'", "'implicit'")),
    ("enum-email-sender", with_base(user_pool={"email": {"sender": "pigeon"}}), "user_pool.email", ("'cognito'", "'ses'")),
    ("ses-without-arn", with_base(user_pool={"email": {"sender": "ses"}}), "user_pool.email.source_arn", ("required key is missing",)),
    # domain prefix rules
    ("prefix-uppercase", "name: shop\ndomain: {prefix: Shop-auth}\n", "domain.prefix", ("'Shop-auth'", "not a valid domain prefix", "lowercase")),
    ("prefix-leading-hyphen", "name: shop\ndomain: {prefix: -shop}\n", "domain.prefix", ("'-shop'", "not a valid domain prefix", "hyphen")),
    ("prefix-trailing-hyphen", "name: shop\ndomain: {prefix: shop-}\n", "domain.prefix", ("not a valid domain prefix",)),
    ("prefix-too-long", f"name: shop\ndomain: {{prefix: {LONG_PREFIX}}}\n", "domain.prefix", ("not a valid domain prefix", "1-63 characters")),
    ("prefix-aws", "name: shop\ndomain: {prefix: my-aws-shop}\n", "domain.prefix", ("reserved word 'aws'",)),
    ("prefix-amazon", "name: shop\ndomain: {prefix: shopamazon}\n", "domain.prefix", ("reserved word 'amazon'",)),
    ("prefix-cognito", "name: shop\ndomain: {prefix: cognito-shop}\n", "domain.prefix", ("reserved word 'cognito'",)),
    ("prefix-and-custom",
     "name: shop\ndomain: {prefix: shop-auth, custom: auth.example.com,"
     " certificate_arn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc'}\n",
     "domain", ("exactly one of prefix or custom",)),
    ("neither-prefix-nor-custom", "name: shop\ndomain: {}\n", "domain", ("exactly one of prefix or custom",)),
    ("custom-without-certificate", "name: shop\ndomain: {custom: auth.example.com}\n", "domain.certificate_arn", ("ACM certificate",)),
    # runtimes
    ("runtime-3.9", with_base(function={"runtime": "python3.9"}), "function.runtime", ("'python3.9'", "not a supported runtime", "python3.13")),
    ("runtime-3.10", with_base(function={"runtime": "python3.10"}), "function.runtime", ("'python3.10'", "not a supported runtime")),
    # callback and logout URLs
    ("callback-http", with_base(app_client={"callback_urls": ["http://example.com/cb"]}), "app_client.callback_urls[0]", ("must use https", "localhost")),
    ("callback-http-lookalike", with_base(app_client={"callback_urls": ["https://ok.example.com/cb", "http://localhost.example.com/cb"]}),
     "app_client.callback_urls[1]", ("must use https",)),
    ("callback-userinfo-trick", with_base(app_client={"callback_urls": ["http://localhost@evil.example.com/cb"]}),
     "app_client.callback_urls[0]", ("must use https",)),
    ("logout-http", with_base(app_client={"logout_urls": ["https://ok.example.com/", "http://example.com/bye"]}), "app_client.logout_urls[1]", ("must use https",)),
    ("callback-not-http", with_base(app_client={"callback_urls": ["ftp://example.com/cb"]}), "app_client.callback_urls[0]", ("not an http(s) URL",)),
    # scopes and flows
    ("route-scope-not-allowed", with_base(api={"routes": [{"path": "/a", "scopes": ["profile"]}]}),
     "api.routes[0].scopes[0]", ("'profile'", "not in app_client.oauth_scopes")),
    ("scope-unknown", with_base(app_client={"oauth_scopes": ["openid", "email", "admin"]}), "app_client.oauth_scopes[2]", ("'admin'", "openid")),
    ("secret-with-implicit", with_base(app_client={"generate_secret": True, "oauth_flows": ["code", "implicit"]}),
     "app_client.oauth_flows", ("implicit", "secret")),
    # token validity ranges: access/id 5 min..1 day, refresh 60 min..3650 days
    ("access-2m", with_base(app_client={"token_validity": {"access": "2m"}}), "app_client.token_validity.access", ("2 minutes", "outside")),
    ("access-2d", with_base(app_client={"token_validity": {"access": "2d"}}), "app_client.token_validity.access", ("2880 minutes", "outside")),
    ("refresh-30m", with_base(app_client={"token_validity": {"refresh": "30m"}}), "app_client.token_validity.refresh", ("30 minutes", "outside")),
    ("refresh-4000d", with_base(app_client={"token_validity": {"refresh": "4000d"}}), "app_client.token_validity.refresh", ("outside", "3650 days")),
    # A value that is not a duration is reported at its own key, like every other bad value.
    ("not-a-duration", with_base(app_client={"token_validity": {"id": "soon"}}), "app_client.token_validity.id", ("'soon'", "not a duration")),
    # CORS: origins only, '*' alone and never with credentials, a preflight cogapi makes itself
    ("cors-origin-path", with_base(api={"cors": {"allow_origins": ["https://app.example.com/"]}}),
     "api.cors.allow_origins", ("origin only", "no path")),
    ("cors-origin-no-scheme", with_base(api={"cors": {"allow_origins": ["app.example.com"]}}),
     "api.cors.allow_origins", ("scheme://host[:port]",)),
    ("cors-origin-bad-port", with_base(api={"cors": {"allow_origins": ["http://localhost:99999"]}}),
     "api.cors.allow_origins", ("Port out of range",)),
    ("cors-star-with-others", with_base(api={"cors": {"allow_origins": ["*", "https://a.example.com"]}}),
     "api.cors.allow_origins", ("list it alone",)),
    ("cors-star-with-credentials", with_base(api={"cors": {"allow_origins": ["*"], "allow_credentials": True}}),
     "api.cors.allow_credentials", ("'*'", "credentials")),
    ("cors-no-origins", with_base(api={"cors": {"allow_origins": []}}), "api.cors.allow_origins", ("at least 1",)),
    ("cors-unknown-key", with_base(api={"cors": {"allow_origins": ["*"], "origins": ["*"]}}), "api.cors.origins", ("unknown key",)),
    ("cors-bad-method", with_base(api={"cors": {"allow_origins": ["*"], "allow_methods": ["FETCH"]}}),
     "api.cors.allow_methods", ("'FETCH'", "auto")),
    ("cors-bad-header", with_base(api={"cors": {"allow_origins": ["*"], "allow_headers": ["X Token"]}}),
     "api.cors.allow_headers", ("not a header name",)),
    ("cors-max-age", with_base(api={"cors": {"allow_origins": ["*"], "max_age_s": -1}}), "api.cors.max_age_s", ("greater than or equal to 0",)),
    ("cors-and-options-route", with_base(api={"cors": {"allow_origins": ["*"]},
                                              "routes": [{"path": "/a", "method": "OPTIONS", "authorizer": False}]}),
     "api.routes[0].method", ("preflight",)),
    # custom attributes
    ("custom-length-on-number", with_base(user_pool={"custom_attributes": [{"name": "age", "type": "Number", "min_length": 1}]}),
     "user_pool.custom_attributes[0]", ("String attributes only",)),
    ("custom-value-on-string", with_base(user_pool={"custom_attributes": [{"name": "tenant", "max_value": 9}]}),
     "user_pool.custom_attributes[0]", ("Number attributes only",)),
    ("custom-duplicate", with_base(user_pool={"custom_attributes": [{"name": "tenant"}, {"name": "tenant"}]}),
     "user_pool.custom_attributes", ("listed twice",)),
    ("custom-bad-name", with_base(user_pool={"custom_attributes": [{"name": "ten-ant"}]}), "user_pool.custom_attributes[0].name", ("pattern",)),
    ("custom-max-length-zero", with_base(user_pool={"custom_attributes": [{"name": "t", "max_length": 0}]}),
     "user_pool.custom_attributes[0].max_length", ("greater than or equal to 1",)),
    # routes
    ("duplicate-route", with_base(api={"routes": [{"path": "/a"}, {"path": "/a", "method": "get"}]}), "api.routes[1]", ("GET /a", "twice")),
    ("route-path", with_base(api={"routes": [{"path": "a/b"}]}), "api.routes[0].path", ("must start with '/'",)),
    ("no-routes", with_base(api={"routes": []}), "api.routes", ("at least 1 item",)),
    # identity providers, sources, tags, recovery
    ("idp-without-secret-env", with_base(user_pool={"identity_providers": [{"type": "Google", "client_id": "abc"}]}),
     "user_pool.identity_providers[0].client_secret_env", ("environment variable", "secret")),
    ("source-missing", with_base(function={"source": "src/handler"}), "function.source", ("'src/handler'", "does not exist")),
    ("tag-cogapi-prefix", with_base(tags={"cogapi:stack": "other"}), "tags", ("'cogapi:stack'", "reserved prefix")),
    ("tag-aws-prefix", with_base(tags={"aws:team": "x"}), "tags", ("'aws:team'", "reserved prefix")),
    ("recovery-admin-only-combined", with_base(user_pool={"account_recovery": ["admin_only", "verified_email"]}),
     "user_pool.account_recovery", ("admin_only cannot be combined",)),
    ("recovery-twice", with_base(user_pool={"account_recovery": ["verified_email", "verified_email"]}),
     "user_pool.account_recovery", ("twice",)),
    ("bad-stack-name", "name: 'my shop'\ndomain: {prefix: shop-auth}\n", "name", ("pattern",)),
    # Lambda environment: text values only (a null is not the text "None"), Lambda's names
    ("env-null", BASE + "function: {environment: {A_B: null}}\n", "function.environment.A_B", ("valid string",)),
    ("env-bad-name", with_base(function={"environment": {"MY-VAR": "x"}}), "function.environment", ("'MY-VAR'", "not a valid variable name")),
]
# fmt: on
BAD_BY_ID = {case[0]: case for case in BAD}


@pytest.mark.parametrize(("text", "key", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_config_names_the_key_path(text: str, key: str, words: tuple[str, ...]) -> None:
    found = problems(text)
    assert [k for k, _ in found] == [key], found  # exactly one problem, at exactly this key
    message = found[0][1]
    for word in words:
        assert word in message, (word, message)
    assert not message.startswith("Value error"), message  # pydantic's prefix is removed


def test_empty_file_hints_at_init() -> None:
    with pytest.raises(ConfigError) as info:
        parse("")
    assert info.value.hint is not None and "cogapi init" in info.value.hint


def test_every_problem_is_reported_at_once() -> None:
    # Type errors and cross-key rules are separate passes; each pass lists all its problems.
    found = problems(
        "name: shop\ndomain: {prefix: BAD}\nuser_pool: {mfa: sometimes}\ncolour: red\n"
    )
    assert [k for k, _ in found] == ["domain.prefix", "user_pool.mfa", "colour"]
    found = problems(with_base(
        app_client={"callback_urls": ["http://example.com/a", "http://example.org/b"]},
        api={"routes": [{"path": "/a", "scopes": ["phone"]}]},
    ))  # fmt: skip
    assert [k for k, _ in found] == [
        "app_client.callback_urls[0]", "app_client.callback_urls[1]", "api.routes[0].scopes[0]",
    ]  # fmt: skip


def test_problems_come_in_the_order_of_the_file() -> None:
    # pydantic reports in the model's order and the cross-key rules section by section; a person
    # reads the file top to bottom.
    found = problems(
        "colour: red\n"
        "api:\n"
        "  stage: 'a b'\n"
        "  routes:\n"
        "    - {path: /a, method: FETCH}\n"
        "app_client:\n"
        "  generate_secret: maybe\n"
        "name: shop\n"
        "user_pool: {mfa: sometimes}\n"
        "domain: {prefix: BAD}\n"
    )
    assert [k for k, _ in found] == [
        "colour", "api.stage", "api.routes[0].method", "app_client.generate_secret",
        "user_pool.mfa", "domain.prefix",
    ]  # fmt: skip
    found = problems(
        "name: shop\n"
        "api:\n"
        "  routes:\n"
        "    - {path: /a, scopes: [phone]}\n"
        "    - {path: /b, scopes: [profile]}\n"
        "app_client:\n"
        "  callback_urls: [http://example.com/a]\n"
        "user_pool: {account_recovery: [admin_only, verified_email]}\n"
        "domain: {prefix: shop-auth}\n"
    )
    assert [k for k, _ in found] == [
        "api.routes[0].scopes[0]", "api.routes[1].scopes[0]", "app_client.callback_urls[0]",
        "user_pool.account_recovery",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (with_base(app_client={"callback_url": ["http://localhost:1/cb"]}), "app_client.callback_url",
         "unknown key; did you mean 'callback_urls'?"),
        (BASE + "regoin: eu-west-1\n", "regoin", "unknown key; did you mean 'region'?"),
        (with_base(api={"routes": [{"path": "/a", "metod": "GET"}]}), "api.routes[0].metod", "unknown key; did you mean 'method'?"),
        (with_base(user_pool={"password_policy": {"min_lenght": 9}}), "user_pool.password_policy.min_lenght",
         "unknown key; did you mean 'min_length'?"),
        (with_base(app_client={"token_validity": {"acess": "1h"}}), "app_client.token_validity.acess",
         "unknown key; did you mean 'access'?"),
        (BASE + "colour: red\n", "colour", "unknown key"),  # nothing close: no guess
    ],
)  # fmt: skip
def test_unknown_key_suggests_the_closest_allowed_key(text: str, key: str, message: str) -> None:
    assert problems(text) == [(key, message)]


def test_unknown_key_in_a_union_branch_suggests_from_that_branch() -> None:
    found = problems(with_base(user_pool={"email": {
        "sender": "ses", "source_arn": "arn:aws:ses:us-east-1:123456789012:identity/x", "replyto": "a@b.c",
    }}))  # fmt: skip
    assert found == [("user_pool.email.replyto", "unknown key; did you mean 'reply_to'?")]


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [("", "no such file")]
    assert info.value.hint is not None and "cogapi init" in info.value.hint


def test_source_that_is_not_python(tmp_path: Path) -> None:
    (tmp_path / "handler.js").write_text("exports.handler = 1\n")
    found = problems(with_base(function={"source": "handler.js"}), base_dir=tmp_path)
    assert found == [("function.source", "must be a folder or a .py file")]


# ---- what is accepted ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://app.example.com/cb", "http://localhost:8765/cb", "http://127.0.0.1:1/x", "http://[::1]:9/x",
     "http://localhost/cb", "http://[::1]/x"],
)  # fmt: skip
def test_callback_urls_accepted(url: str) -> None:
    cfg = parse(with_base(app_client={"callback_urls": [url], "logout_urls": [url]}))
    assert cfg.app_client.callback_urls == [url]
    assert cfg.app_client.logout_urls == [url]


@pytest.mark.parametrize("prefix", ["a", "shop-auth", "a" * 63, "0-9", "my-app-7f3k"])
def test_domain_prefixes_accepted(prefix: str) -> None:
    assert parse(f"name: shop\ndomain: {{prefix: '{prefix}'}}\n").domain.prefix == prefix


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "python3.13", "python3.14"])
def test_supported_runtimes(runtime: str) -> None:
    assert parse(with_base(function={"runtime": runtime})).function.runtime == runtime


@pytest.mark.parametrize(
    ("validity", "minutes"),
    [
        ({"access": "5m", "id": "1d", "refresh": "60m"}, {"access": 5, "id": 1440, "refresh": 60}),
        (
            {"access": "1h", "id": 90, "refresh": "3650d"},
            {"access": 60, "id": 90, "refresh": 3650 * 1440},
        ),
        (
            {"access": "10 min", "id": "2h", "refresh": "1h"},
            {"access": 10, "id": 120, "refresh": 60},
        ),
    ],
)
def test_token_validity_bounds_accepted(validity: dict[str, Any], minutes: dict[str, int]) -> None:
    cfg = parse(with_base(app_client={"token_validity": validity}))
    assert cfg.app_client.token_validity.minutes() == minutes


@pytest.mark.parametrize(
    "cors",
    [
        {"allow_origins": ["*"]},
        {"allow_origins": ["https://app.example.com", "http://localhost:3000", "http://[::1]:8080"],
         "allow_credentials": True, "allow_methods": ["get", "POST"], "max_age_s": 0},
    ],
)  # fmt: skip
def test_cors_accepted(cors: dict[str, Any]) -> None:
    cfg = parse_config(with_base(api={"cors": cors}), "cogapi.yaml", ROOT)
    assert cfg.api.cors is not None
    assert cfg.api.cors.allow_origins == cors["allow_origins"]


def test_cors_is_off_when_absent() -> None:
    assert parse_config(BASE, "cogapi.yaml", ROOT).api.cors is None


def test_secret_client_with_code_flow_is_fine() -> None:
    cfg = parse(with_base(app_client={"generate_secret": True, "oauth_flows": ["code"]}))
    assert cfg.app_client.generate_secret is True


def test_mfa_off_unquoted_is_off() -> None:
    # YAML 1.1 reads a bare `off` as False; the config must still mean the word "off".
    assert yaml.safe_load("mfa: off") == {"mfa": False}
    assert parse(BASE + "user_pool:\n  mfa: off\n").user_pool.mfa == "off"
    assert parse(BASE + "user_pool:\n  mfa: 'off'\n").user_pool.mfa == "off"
    assert parse(BASE + "user_pool:\n  mfa: optional\n").user_pool.mfa == "optional"


def test_example_config_parses() -> None:
    cfg = load_config(str(EXAMPLE))
    assert cfg.name == "test"
    assert cfg.domain.prefix == "test-api-7f3k" and cfg.domain.custom is None
    assert cfg.user_pool.mfa == "off"  # written unquoted in the example
    assert (cfg.pool_name, cfg.client_name, cfg.function_name, cfg.role_name, cfg.api_name, cfg.authorizer_name) == (
        "test-userPool", "test-Client", "test-API-function", "test-API-function-role", "test-API", "test-Authorizer",
    )  # fmt: skip
    assert [(r.path, r.method, r.scopes) for r in cfg.api.routes] == [
        ("/test-API-resource", "GET", ["email"])
    ]
    assert cfg.tags == {"team": "web"}


def test_defaults_are_resolved() -> None:
    cfg = parse(BASE)
    assert cfg.region == "us-east-1"
    assert cfg.pool_name == "shop-user-pool"
    assert cfg.client_name == "shop-client"
    assert cfg.function_name == "shop-function"
    assert cfg.role_name == "shop-function-role"
    assert cfg.sms_role_name == "shop-cognito-sms-role"
    assert cfg.api_name == "shop-api"
    assert cfg.authorizer_name == "shop-authorizer"
    assert cfg.client_identity_providers == ["COGNITO"]
    assert cfg.wants_sms_role is False
    assert cfg.user_pool.mfa == "off" and cfg.user_pool.sign_in == ["email"]
    assert cfg.app_client.token_validity.minutes() == {"access": 60, "id": 60, "refresh": 30 * 1440}
    assert [(r.path, r.method, r.scopes) for r in cfg.api.routes] == [("/hello", "GET", ["email"])]
    assert cfg.function.source is None and cfg.function.runtime == "python3.13"


def test_role_name_follows_the_function_name() -> None:
    assert parse(with_base(function={"name": "orders"})).role_name == "orders-role"
    assert parse(with_base(function={"name": "orders", "role_name": "r1"})).role_name == "r1"


def test_derived_values() -> None:
    cfg = parse(with_base(
        user_pool={
            "mfa": "required", "mfa_methods": ["sms"],
            "identity_providers": [{"type": "Google", "client_id": "abc", "client_secret_env": "G_SECRET"}],
        },
        function={"environment": {"DEBUG": True, "N": 3, "NAME": "x"}},
        api={"routes": [{"path": "/items/{id}", "method": "delete"}]},
    ))  # fmt: skip
    assert cfg.wants_sms_role is True
    assert cfg.client_identity_providers == ["COGNITO", "Google"]
    assert cfg.function.environment == {"DEBUG": "true", "N": "3", "NAME": "x"}
    assert cfg.api.routes[0].method == "DELETE"


def test_source_resolved_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return {}\n")
    path = tmp_path / "cogapi.yaml"
    path.write_text(with_base(function={"source": "src"}))
    monkeypatch.chdir("/")
    assert load_config(str(path)).function.source == str((tmp_path / "src").resolve())


@pytest.mark.parametrize(
    ("files", "source", "handler", "ok"),
    [
        ({"app.py"}, "src", "app.handler", True),
        ({"pkg/api.py"}, "src", "pkg.api.handler", True),
        ({"main.py"}, "src", "app.handler", False),
        ({"main.py"}, "src/main.py", "main.handler", True),
        ({"main.py"}, "src/main.py", "app.handler", False),
    ],
)
def test_handler_module_must_be_in_the_source(
    tmp_path: Path, files: set[str], source: str, handler: str, ok: bool
) -> None:
    for name in files:
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_text("def handler(e, c):\n    return {}\n")
    text = with_base(function={"source": source, "handler": handler})
    if ok:
        parse(text, tmp_path)
    else:
        found = problems(text, base_dir=tmp_path)
        assert [k for k, _ in found] == ["function.handler"]
        assert f"module {handler.rsplit('.', 1)[0]!r} is not in function.source" in found[0][1]


# ---- the CLI contract for bad configs -----------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for every AWS endpoint: records the request, answers AccessDenied (never retried)."""

    seen: list[str] = []

    def _answer(self) -> None:
        self.seen.append(f"{self.command} {self.path} {self.headers.get('X-Amz-Target', '')}")
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {"__type": "AccessDeniedException", "message": "recorder: no AWS here"}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "AccessDeniedException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws_endpoint(recorder_url: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Point every boto3 client (and cogapi's local-endpoint probe) at the recorder.

    Why not http://127.0.0.1:9: with nothing listening there, an AWS call fails only after
    botocore's 10 standard-mode retries (~20 s), and only the exit status (1, not 2) would tell.
    The recorder answers at once with AccessDeniedException (exit 1, see the control test) and
    lists every request, so "no AWS call was attempted" is asserted directly. Nothing is patched.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", recorder_url)
    _Recorder.seen.clear()
    return _Recorder.seen


def run_cli(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


CLI_CASES = [
    "yaml-syntax", "empty-file", "top-level-list", "missing-name", "unknown-nested", "type-bool", "enum-mfa",
    "enum-method", "prefix-uppercase", "prefix-cognito", "prefix-and-custom", "runtime-3.10", "callback-http",
    "route-scope-not-allowed", "secret-with-implicit", "access-2m", "custom-duplicate", "duplicate-route",
    "idp-without-secret-env", "source-missing", "tag-cogapi-prefix", "recovery-admin-only-combined",
]  # fmt: skip


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_refuses_bad_config_before_any_aws_call(
    case: str, tmp_path: Path, aws_endpoint: list[str]
) -> None:
    _, text, key, words = BAD_BY_ID[case]
    path = tmp_path / "cogapi.yaml"
    path.write_text(text)
    result = run_cli(["up", "-c", str(path), "--dry-run"])
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert errors, lines
    prefix = f"error: {path}: {key}: " if key else f"error: {path}: "
    assert errors[0].startswith(prefix), (prefix, errors)
    for word in words:
        assert word in errors[0]
    assert all(ln.startswith(("error: ", "hint: ")) for ln in lines), lines
    assert aws_endpoint == []  # not even the local-endpoint probe


@pytest.mark.parametrize("command", [["status"], ["down", "--yes"], ["up", "--yes"]])
def test_every_stack_command_checks_the_config_first(
    command: list[str], tmp_path: Path, aws_endpoint: list[str]
) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(with_base(user_pool={"mfa": "sometimes"}))
    result = run_cli([*command, "-c", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].startswith(
        f"error: {path}: user_pool.mfa: Input should be"
    )
    assert "Traceback" not in result.stderr
    assert aws_endpoint == []


def test_cli_prints_problems_in_file_order_with_suggestions(
    tmp_path: Path, aws_endpoint: list[str]
) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(
        "api: {stage: 'a b'}\n"
        "app_client: {callback_url: [http://localhost:1/cb]}\n"
        "name: shop\n"
        "user_pool: {mfa: sometimes}\n"
        "domain: {prefix: shop-auth}\n"
    )
    result = run_cli(["up", "-c", str(path), "--dry-run"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert [ln.split(": ")[2] for ln in lines] == [
        "api.stage",
        "app_client.callback_url",
        "user_pool.mfa",
    ]
    assert (
        lines[1]
        == f"error: {path}: app_client.callback_url: unknown key; did you mean 'callback_urls'?"
    )
    assert aws_endpoint == []


def test_cli_config_from_environment_and_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_endpoint: list[str]
) -> None:
    missing = tmp_path / "absent.yaml"
    monkeypatch.setenv("COGAPI_CONFIG", str(missing))
    result = run_cli(["up", "--dry-run"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {missing}: no such file",
        "hint: run `cogapi init` to write one, or pass -c PATH",
    ]
    assert aws_endpoint == []


def test_cli_json_output_keeps_errors_off_stdout(tmp_path: Path, aws_endpoint: list[str]) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text(BAD_BY_ID["callback-http"][1])
    result = run_cli(["up", "-c", str(path), "--dry-run", "-o", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: app_client.callback_urls[0]: ")
    assert aws_endpoint == []


def test_control_a_valid_config_does_reach_aws(tmp_path: Path, aws_endpoint: list[str]) -> None:
    """The canary is live: with a valid config the same run calls the endpoint and exits 1."""
    path = tmp_path / "cogapi.yaml"
    path.write_text(EXAMPLE.read_text())
    result = run_cli(["up", "-c", str(path), "--dry-run"])
    assert result.exit_code == 1, result.stderr
    assert "AccessDeniedException" in result.stderr
    assert "hint: " in result.stderr
    assert "Traceback" not in result.stderr
    assert any("AWSCognitoIdentityProviderService" in r for r in aws_endpoint), aws_endpoint


# ---- schema, init, --help ------------------------------------------------------------------


def test_schema_prints_json_schema() -> None:
    result = run_cli(["schema"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["$schema"].startswith("https://json-schema.org/")
    assert "user_pool" in doc["properties"]
    assert {"name", "domain"} <= set(doc["required"])
    assert {"domain", "app_client", "function", "api", "tags"} <= set(doc["properties"])
    assert result.stderr == ""


def _written_prefix(path: Path) -> str:
    prefix = load_config(str(path)).domain.prefix
    assert prefix is not None
    return prefix


@pytest.mark.parametrize("name", ["test", "My_AWS_Shop", "amazon-cognito-app"])
def test_init_writes_a_config_with_a_random_valid_prefix(name: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for path in (first, second):
        result = run_cli(["init", "-c", str(path), "--name", name])
        assert result.exit_code == 0, result.stderr
        assert path.exists()
    prefixes = [_written_prefix(first), _written_prefix(second)]
    for prefix in prefixes:
        assert prefix != "test-api-7f3k"
        assert PREFIX_RE.match(prefix)
        assert not any(word in prefix for word in RESERVED_IN_PREFIX)
        assert re.fullmatch(r".+-[a-z0-9]{6}", prefix)
    assert prefixes[0] != prefixes[1]  # random, so two stacks in one region do not collide
    cfg = load_config(str(first))
    assert cfg.name == name  # the name is the stack's, not only the prefix's first word


def test_init_name_sets_the_stack_and_every_default_resource_name(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    assert run_cli(["init", "-c", str(path), "--name", "myapp"]).exit_code == 0
    cfg = load_config(str(path))
    names = (cfg.name, cfg.pool_name, cfg.client_name, cfg.function_name, cfg.role_name,
             cfg.api_name, cfg.authorizer_name)  # fmt: skip
    assert names == ("myapp", "myapp-user-pool", "myapp-client", "myapp-function",
                     "myapp-function-role", "myapp-api", "myapp-authorizer")  # fmt: skip
    text = path.read_text()
    for tutorial in (
        "test-userPool",
        "test-Client",
        "test-API-function",
        "test-API",
        "test-Authorizer",
    ):
        assert f"# name: {tutorial}" in text or f"the AWS tutorial's: {tutorial}" in text

    # Every comment that was aligned in the example still is: the same column for each key.
    def columns(lines: list[str]) -> dict[str, int]:
        return {
            ln.split(":")[0].strip(): ln.index(" #")
            for ln in lines
            if " #" in ln and ":" in ln and not ln.lstrip().startswith("#")
        }

    example = columns(EXAMPLE.read_text().splitlines())
    written = columns(text.splitlines())
    for key in ("name", "prefix", "region", "sign_in"):
        assert written[key] == example[key], key
    assert "prefix: test-api-7f3k" not in text


def test_init_refuses_a_name_that_is_not_a_stack_name(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    result = run_cli(["init", "-c", str(path), "--name", "Café"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --name: 'Café' is not a valid stack name")
    assert not path.exists()


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    path.write_text("keep: me\n")
    result = run_cli(["init", "-c", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {path} already exists; not overwriting it"
    assert "hint: " in result.stderr
    assert path.read_text() == "keep: me\n"


def test_init_into_a_missing_directory_or_through_a_dangling_link_is_a_usage_error(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-dir" / "cogapi.yaml"
    result = run_cli(["init", "-c", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: cannot write {missing}: No such file or directory"
    ]
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "elsewhere" / "target.yaml")
    result = run_cli(["init", "-c", str(link)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"error: {link} already exists; not overwriting it"


def test_init_json_output(tmp_path: Path) -> None:
    path = tmp_path / "cogapi.yaml"
    result = run_cli(["init", "-c", str(path), "-o", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc == {"path": str(path), "domain_prefix": _written_prefix(path)}


_HELP_PROBE = """
import json, sys
from cogapi.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="cogapi")
except SystemExit as exc:
    code = exc.code
heavy = [m for m in ("boto3", "botocore", "pydantic", "rich", "shutil") if m in sys.modules]
sys.stderr.write("PROBE " + json.dumps({"code": code, "heavy": heavy}) + "\\n")
"""


@pytest.mark.parametrize("args", [["--help"], ["up", "--help"]])
def test_help_does_not_import_heavy_modules(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _HELP_PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: cogapi" in proc.stdout
    probe = json.loads(proc.stderr.split("PROBE ", 1)[1])
    assert probe == {"code": 0, "heavy": []}


@pytest.mark.parametrize("columns", [None, "", "abc", "-5", "0", "40", "60", "99", "100", "250"])
def test_help_is_as_wide_as_click_would_make_it(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cogapi finds the terminal's width without shutil (which costs --help about 3 ms): the
    # same width, from $COLUMNS or stdout's terminal, as click's own formatter would take.
    import shutil

    import click

    from cogapi.cli import cli
    from cogapi.cli.common import CogapiContext, terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
    ours = CogapiContext(cli, info_name="cogapi", max_content_width=100).make_formatter()
    clicks = click.Context(cli, info_name="cogapi", max_content_width=100).make_formatter()
    assert ours.width == clicks.width


def test_shell_completion_does_not_import_heavy_modules() -> None:
    # Click answers completion requests from the environment, before any command runs.
    env = {
        **os.environ,
        "_COGAPI_COMPLETE": "bash_complete",
        "COMP_WORDS": "cogapi st",
        "COMP_CWORD": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _HELP_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    assert "plain,status" in proc.stdout.split()
    probe = json.loads(proc.stderr.split("PROBE ", 1)[1])
    assert probe == {"code": 0, "heavy": []}


def test_endpoint_url_in_the_config_must_be_http() -> None:
    found = problems(BASE.rstrip("\n") + "\nendpoint_url: '127.0.0.1:4566'\n")
    assert found == [
        ("endpoint_url", "'127.0.0.1:4566' is not an http(s) URL, e.g. http://127.0.0.1:4566")
    ]


def test_help_lists_every_command_without_cutting_its_line() -> None:
    from click.testing import CliRunner

    from cogapi.cli import cli

    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    commands = result.output.split("Commands:", 1)[1].strip().splitlines()
    assert len(commands) == 13
    for line in commands:
        assert len(line) <= 80 and not line.endswith("..."), line
    # Once, in the order of the work (set up, inspect, tear down, hand over; then sign-in, then
    # local), and nowhere else in the text: one list to keep true.
    names = [line.split()[0] for line in commands]
    assert names == ["init", "up", "status", "down", "export", "iam-policy", "schema",
                     "token", "call", "verify", "user", "local", "demo"]  # fmt: skip
    head = result.output.split("Commands:", 1)[0]
    assert not any(f"cogapi {name} " in head for name in names), head
