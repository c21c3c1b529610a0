"""The installed `cogapi` as a subprocess against a moto server, including SIGKILL at every step."""

from __future__ import annotations

import json
import re
import signal
import time
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


KINDS = ("pools", "apis", "functions", "roles", "clients", "authorizers")
NONE_LEFT = dict.fromkeys(KINDS, 0)
ONE_EACH = dict.fromkeys(KINDS, 1)


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
        "stage", "domain", "function_arn", "role_arn", "authorizer_id", "token_endpoint",
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
    assert count_resources(moto_server) == NONE_LEFT


def test_bad_config_exits_2_without_traceback(cogapi: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "cogapi.yaml"
    write_config(cfg, domain={"prefix": "My-AWS-prefix"})
    r = cogapi("up", "-c", str(cfg))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {cfg}: domain.prefix: ")
    assert "Traceback" not in r.stderr


def test_a_bad_workers_setting_stops_up_before_the_plan(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    r = cogapi("up", "-c", cfg, env={"COGAPI_WORKERS": "lots"})
    assert r.returncode == 2
    assert r.stderr.startswith("error: COGAPI_WORKERS='lots' is not a whole number from 1 to 64")
    assert "Plan for stack" not in r.stderr + r.stdout  # nobody is asked to confirm it
    assert "Traceback" not in r.stderr
    assert count_resources(moto_server) == NONE_LEFT


def test_a_test_hook_that_is_not_a_count_is_a_usage_error(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    r = cogapi("up", "-c", cfg, "--yes", env={"COGAPI_TEST_KILL_AFTER": "abc"})
    assert r.returncode == 2
    assert r.stderr.startswith("error: COGAPI_TEST_KILL_AFTER='abc' is not a whole number")
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr
    assert count_resources(moto_server) == NONE_LEFT


def test_endpoint_unreachable_is_a_clear_error(cogapi: Any, tmp_path: Path) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    start = time.monotonic()
    r = cogapi("status", "-c", cfg, "--endpoint-url", "http://127.0.0.1:9")
    # Under 15 s even on a loaded machine; botocore's backoff on a refused port took 25-33 s.
    assert time.monotonic() - start < 15
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
    assert counts == ONE_EACH, (k, counts)
    return True


def test_fresh_up_killed_after_every_mutating_call_converges(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    k = 1
    while True:
        moto_server.reset()  # a fresh account for each kill point
        if not _converges_after_kill(cogapi, moto_server, cfg, k):
            break
        k += 1
    assert k > 10  # a fresh stack takes 11 mutating calls: each one was a kill point
    # What a killed run and its re-run made, `down` removes whole (the last stack is one).
    down = cogapi("down", "-c", cfg, "--yes")
    assert down.returncode == 0, down.stderr
    assert count_resources(moto_server) == NONE_LEFT


def test_updating_up_killed_after_every_mutating_call_converges(
    cogapi_local: Any, local_server: MotoServer, tmp_path: Path
) -> None:
    # Against `cogapi local`, whose API Gateway serves the deployed snapshot only: a stage left
    # on the old deployment would still answer 403 for the new route and 200 without `openid`.
    cogapi = cogapi_local
    base = tmp_path / "base.yaml"
    write_config(base)
    updated = str(write_config(tmp_path / "updated.yaml", **UPDATED))
    k = 1
    while True:
        local_server.reset()
        first = cogapi("up", "-c", str(base), "-o", "json")
        assert first.returncode == 0, first.stderr
        if not _converges_after_kill(cogapi, local_server, updated, k):
            break
        invoke = json.loads(cogapi("status", "-c", updated, "-o", "json").stdout)["outputs"][
            "invoke_url"
        ]
        new_route = invoke.rsplit("/", 1)[0] + "/items/1"
        assert _status_of(new_route, "POST") == 401, k  # deployed: the authorizer answers, not 403
        assert _status_of(invoke, "GET") == 401, k
        k += 1
    down = cogapi("down", "-c", updated, "--yes")
    assert down.returncode == 0
    assert count_resources(local_server)["apis"] == 0
    assert (
        k > 4
    )  # the update takes 4 (function, PutRestApi, deployment, stage): each was a kill point


def _status_of(url: str, method: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_ctrl_c_during_up_stops_starting_changes_and_says_how_to_recover(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    # SIGINT to `up` itself right after its 3rd mutating call, as a Ctrl-C mid-apply would be.
    r = cogapi("up", "-c", cfg, env={"COGAPI_TEST_INTERRUPT_AFTER": "3"})
    assert r.returncode == 130, r.stderr
    before, after = r.stderr.split("Interrupted: starting no more changes", 1)
    assert " ...\n" not in after.split("\n", 1)[1]  # no change was started after the Ctrl-C
    assert "error: interrupted: the stack is partial (" in after and "left undone)" in after
    assert "hint: `cogapi up` finishes it; `cogapi down` removes it" in after
    assert "Traceback" not in r.stderr
    made = int(after.split("partial (", 1)[1].split(" of ", 1)[0])
    assert made == before.count(": done\n") + after.count(": done\n")
    again = cogapi("up", "-c", cfg)
    assert again.returncode == 0, again.stderr
    assert count_resources(moto_server) == ONE_EACH
    assert cogapi("down", "-c", cfg, "--yes").returncode == 0


def test_ctrl_c_during_down_finishes_the_deletion_in_flight_and_says_how_to_recover(
    cogapi: Any, moto_server: MotoServer, tmp_path: Path
) -> None:
    cfg = str(write_config(tmp_path / "cogapi.yaml"))
    assert cogapi("up", "-c", cfg).returncode == 0
    # SIGINT to `down` right after its 2nd deleting call, as a Ctrl-C mid-teardown would be.
    r = cogapi("down", "-c", cfg, "--yes", env={"COGAPI_TEST_INTERRUPT_AFTER": "2"})
    assert r.returncode == 130, r.stderr
    before, after = r.stderr.split("Interrupted: starting no more deletions", 1)
    assert " ...\n" not in after.split("\n", 1)[1]  # nothing was started after the Ctrl-C
    assert "error: interrupted: the teardown is partial (" in after and "left undone)" in after
    assert "hint: `cogapi down` finishes it" in after
    assert "Traceback" not in r.stderr
    counts = re.search(r"partial \((\d+) of (\d+) deletion\(s\) made, (\d+) left undone\)", after)
    assert counts is not None, after
    made, total, left = (int(n) for n in counts.groups())
    assert made == before.count(": done\n") + after.count(": done\n")
    assert 0 < made < total and left == total - made
    again = cogapi("down", "-c", cfg, "--yes")
    assert again.returncode == 0, again.stderr
    assert sum(count_resources(moto_server).values()) == 0


def test_cors_on_cogapi_local_preflight_and_a_readable_401(
    cogapi_local: Any, local_server: MotoServer, tmp_path: Path
) -> None:
    import urllib.error
    import urllib.request

    origins = ["https://app.example.com", "http://localhost:3000"]
    routes = [{"path": "/items/{id}", "method": m, "scopes": ["email"]} for m in ("GET", "PUT")]
    cfg = str(write_config(tmp_path / "cogapi.yaml", api={"routes": routes, "cors": {
        "allow_origins": origins, "max_age_s": 120}}))  # fmt: skip
    up = cogapi_local("up", "-c", cfg, "-o", "json")
    assert up.returncode == 0, up.stderr
    url = up.json()["outputs"]["invoke_url"].replace("{id}", "7")

    def call(method: str, origin: str, **headers: str) -> tuple[int, Any]:
        req = urllib.request.Request(url, method=method, headers={"Origin": origin, **headers})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.headers

    status, headers = call("OPTIONS", "http://localhost:3000",
                           **{"Access-Control-Request-Method": "PUT"})  # fmt: skip
    assert status == 200  # the preflight never meets the authorizer
    assert headers["Access-Control-Allow-Methods"] == "GET,OPTIONS,PUT"
    assert headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type"
    assert headers["Access-Control-Max-Age"] == "120"
    status, headers = call("GET", "https://app.example.com")
    assert status == 401  # the gateway's own answer carries the (first) origin
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert cogapi_local("status", "-c", cfg).returncode == 0


def test_service_endpoint_variables_alone_reach_cogapi_local_and_print_its_urls(
    local_server: MotoServer, tmp_path: Path
) -> None:
    # AWS_ENDPOINT_URL_<SERVICE> for each service, no AWS_ENDPOINT_URL: the printed URLs were
    # AWS's, for a stack that lives in cogapi local
    import os
    import subprocess

    from tests.helpers import cogapi_command

    local_server.reset()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_CONFIG_FILE": str(tmp_path / "none"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "XDG_CACHE_HOME": str(tmp_path / "cache")})  # fmt: skip
    for service in ("COGNITO_IDENTITY_PROVIDER", "API_GATEWAY", "IAM", "LAMBDA", "STS"):
        env[f"AWS_ENDPOINT_URL_{service}"] = local_server.url
    cfg = str(write_config(tmp_path / "cogapi.yaml"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cogapi_command(), *args], env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip

    up = run("up", "-c", cfg, "-o", "json")
    assert up.returncode == 0, up.stderr
    out = json.loads(up.stdout)["outputs"]
    assert out["invoke_url"].startswith(f"{local_server.url}/_cogapi/api/{out['api_id']}/")
    assert out["hosted_ui_url"].startswith(f"{local_server.url}/_cogapi/auth/")
    assert _status_of(out["invoke_url"], "GET") == 401  # the local gateway answers
    assert run("down", "-c", cfg, "--yes").returncode == 0
