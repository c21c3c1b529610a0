"""The installed `cogapi` as a subprocess against a moto server, including SIGKILL at every step."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.e2e.conftest import MotoServer
from tests.helpers import write_config

UPDATED = {
    "function": {"memory_mb": 256},
    "api": {"routes": [
        {"path": "/test-API-resource", "method": "GET", "scopes": ["openid"]},
        {"path": "/items/{id}", "method": "POST", "scopes": [], "integration": "lambda"},
    ]},
}  # fmt: skip


def count_resources(server: MotoServer) -> dict[str, int]:
    """How many of each top-level resource exist, and of the children that could duplicate."""
    cog, apigw = server.client("cognito-idp"), server.client("apigateway")
    pools = [
        p for p in cog.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "test-userPool"
    ]
    apis = [a for a in apigw.get_rest_apis()["items"] if a["name"] == "test-API"]
    out = {
        "pools": len(pools),
        "apis": len(apis),
        "functions": len(server.client("lambda").list_functions()["Functions"]),
        "roles": len(
            [
                r
                for r in server.client("iam").list_roles()["Roles"]
                if r["RoleName"].startswith("test-")
            ]
        ),
        "clients": sum(
            len(cog.list_user_pool_clients(UserPoolId=p["Id"], MaxResults=60)["UserPoolClients"])
            for p in pools
        ),
        "authorizers": sum(len(apigw.get_authorizers(restApiId=a["id"])["items"]) for a in apis),
    }
    return out


def test_up_status_down_through_the_installed_command(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    first = cogapi("up", "-c", cfg, "-o", "json")
    assert first.returncode == 0, first.stderr
    doc = first.json()  # stdout holds exactly one JSON document
    assert set(doc["outputs"]) == {
        "hosted_ui_url", "invoke_url", "user_pool_id", "app_client_id", "api_id", "region",
        "stage", "domain", "function_arn", "role_arn", "authorizer_id",
    }  # fmt: skip
    assert "creating user_pool" in first.stderr  # progress goes to stderr

    st = cogapi("status", "-c", cfg, "-o", "json")
    assert st.returncode == 0, st.stdout
    assert {r["state"] for r in st.json()["resources"]} == {"ok"}

    moto_server.client("lambda").update_function_configuration(
        FunctionName="test-API-function", MemorySize=512
    )
    drift = cogapi("status", "-c", cfg)
    assert drift.returncode == 3
    assert "drifted" in drift.stdout and "memory_mb" in drift.stdout

    no = cogapi("down", "-c", cfg)
    assert no.returncode == 2
    assert "nothing was deleted" in no.stderr
    assert count_resources(moto_server)["pools"] == 1

    gone = cogapi("down", "-c", cfg, "--yes")
    assert gone.returncode == 0, gone.stderr
    assert count_resources(moto_server) == dict.fromkeys(
        ("pools", "apis", "functions", "roles", "clients", "authorizers"), 0
    )


def test_bad_config_exits_2_without_traceback(cogapi: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "cogapi.yaml"
    write_config(cfg, domain={"prefix": "My-AWS-prefix"})
    r = cogapi("up", "-c", str(cfg))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {cfg}: domain.prefix: ")
    assert "Traceback" not in r.stderr


def test_endpoint_unreachable_is_a_clear_error(cogapi: Any, tmp_path: Path) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    r = cogapi("status", "-c", cfg, "--endpoint-url", "http://127.0.0.1:9")
    assert r.returncode == 1
    assert "cannot reach AWS" in r.stderr and "Traceback" not in r.stderr


def _converges_after_kill(cogapi: Any, server: MotoServer, cfg: str, k: int) -> bool:
    """Kill `up` right after its k-th mutating call; re-run; check one of each and a current stage.

    Returns False once `up` finished before k mutating calls (every point has been covered).
    """
    killed = cogapi("up", "-c", cfg, env={"COGAPI_TEST_KILL_AFTER": str(k)})
    if killed.returncode == 0:
        return False
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = cogapi("up", "-c", cfg)
    assert again.returncode == 0, f"re-run after kill at call {k}: {again.stderr}"
    st = cogapi("status", "-c", cfg, "-o", "json")
    assert st.returncode == 0, (
        f"after kill at call {k}: {[r for r in st.json()['resources'] if r['state'] != 'ok']}"
    )
    counts = count_resources(server)
    assert counts == {
        "pools": 1,
        "apis": 1,
        "functions": 1,
        "roles": 1,
        "clients": 1,
        "authorizers": 1,
    }, (k, counts)
    return True


def test_fresh_up_killed_after_every_mutating_call_converges(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    k = 1
    while True:
        moto_server.reset()
        if not _converges_after_kill(cogapi, moto_server, cfg, k):
            break
        down = cogapi("down", "-c", cfg, "--yes")
        assert down.returncode == 0, down.stderr
        assert count_resources(moto_server) == dict.fromkeys(
            ("pools", "apis", "functions", "roles", "clients", "authorizers"), 0
        )
        k += 1
    assert k > 12  # a fresh stack takes 14 mutating calls: each one was a kill point


def test_updating_up_killed_after_every_mutating_call_converges(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    base = tmp_path / "base.yaml"
    write_config(base)
    updated = str(write_config(tmp_path / "updated.yaml", **UPDATED))
    k = 1
    while True:
        moto_server.reset()
        assert cogapi("up", "-c", str(base)).returncode == 0
        if not _converges_after_kill(cogapi, moto_server, updated, k):
            break
        st = cogapi("status", "-c", updated, "-o", "json")
        stage = [r for r in st.json()["resources"] if r["kind"] == "stage"][0]
        assert stage["state"] == "ok"  # the stage serves the updated methods, not the old ones
        k += 1
    down = cogapi("down", "-c", updated, "--yes")
    assert down.returncode == 0
    assert count_resources(moto_server)["apis"] == 0
    assert k > 5
