"""Route-scaling benchmark: cogapi and Chalice 1.34 at 1, 10 and 40 routes, under API Gateway's
quotas.

    pip install -e '.[bench]' && python bench/routes.py            # counts 1 10 40, one round
    python bench/routes.py --counts 1 40 --repeat 3 --no-save

Against `bench/moto_latency_server.py --quotas` (50 ms per call, API Gateway's control-plane
quotas enforced as 429 TooManyRequestsException; see that file), for each route count and tool,
each a subprocess timed by wall clock, 5.5 s apart (untimed): a fresh deploy, a no-op redeploy, `status` (cogapi), a
one-route edit (route 0's scopes [email] -> [email, openid]) and the teardown. Every route is
`GET /r<i>` behind the Cognito authorizer with scope `email`, Lambda proxy; the 1-route run is
cogapi's example stack. Calls are HTTP requests seen by the server, refused ones (429) included
and counted apart. Chalice deploys its part (role, function, REST API with the authorizer on a
pool made beforehand).

Writes `route_scaling` into bench/results.json and a "Route scaling" section at the end of
bench/RESULTS.md (unless --no-save); `bench/deploy.py` rewrites both, so run this one after it.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from deploy import (
    BENCH,
    CHALICE_APP,
    CHALICE_STAGE,
    BenchError,
    MotoServer,
    aws_env,
    compile_cogapi,
    find_exe,
    machine_info,
    measure,
    prepare_server,
)
from deploy_report import Run

SECTION = "## Route scaling"
# Each count's runs start with full quota buckets (DeleteRestApi refills 1 per 30 s), and each
# phase starts once CreateDeployment's (1 per 5 s) has refilled: a person redeploys seconds
# later, not within 5 s, and Chalice gives up on CreateDeployment after 2 retries.
SETTLE_S = 31.0
PHASE_GAP_S = 5.5


def measure_later(*args: Any, **kw: Any) -> Run:
    time.sleep(PHASE_GAP_S)
    return measure(*args, **kw)


def chalice_app(n: int, pool_arn: str, edited: bool) -> str:
    lines = [
        "from chalice import Chalice, CognitoUserPoolAuthorizer",
        "",
        f'app = Chalice(app_name="{CHALICE_APP}")',
        f'authorizer = CognitoUserPoolAuthorizer("bench-authorizer", provider_arns=["{pool_arn}"])',
    ]
    for i in range(n):
        scopes = ["email", "openid"] if edited and i == 0 else ["email"]
        path = "/test-API-resource" if n == 1 else f"/r{i}"
        lines += [
            "",
            "",
            f'@app.route("{path}", methods=["GET"], authorizer=authorizer.with_scopes({scopes!r}))',
            f"def route_{i}():",
            '    return {"message": "Hello World"}',
        ]
    return "\n".join(lines) + "\n"


def cogapi_routes(n: int, edited: bool) -> list[dict[str, Any]]:
    routes = []
    for i in range(n):
        path = "/test-API-resource" if n == 1 else f"/r{i}"
        scopes = ["email", "openid"] if edited and i == 0 else ["email"]
        routes.append({"path": path, "method": "GET", "scopes": scopes, "integration": "proxy"})
    return routes


def write_cogapi_config(base: dict[str, Any], path: Path, n: int, edited: bool) -> None:
    doc = json.loads(json.dumps(base))
    doc["api"]["routes"] = cogapi_routes(n, edited)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def cogapi_cycle(
    server: MotoServer, exe: str, config: Path, base: dict[str, Any], n: int, env: dict[str, str]
) -> list[Run]:
    opts = ["-c", str(config), "-o", "json"]
    cwd = config.parent
    write_cogapi_config(base, config, n, edited=False)
    runs = [measure(server, "cogapi", "fresh", [exe, "up", "--yes", *opts], cwd, env)]
    runs.append(measure_later(server, "cogapi", "noop", [exe, "up", "--yes", *opts], cwd, env))
    runs.append(
        measure_later(server, "cogapi", "status", [exe, "status", *opts], cwd, env, ok_codes=(0, 3))
    )
    write_cogapi_config(base, config, n, edited=True)
    runs.append(measure_later(server, "cogapi", "edit", [exe, "up", "--yes", *opts], cwd, env))
    runs.append(measure_later(server, "cogapi", "down", [exe, "down", "--yes", *opts], cwd, env))
    return runs


def chalice_cycle(
    server: MotoServer, exe: str, workdir: Path, pool_arn: str, n: int, env: dict[str, str]
) -> list[Run]:
    project = workdir / CHALICE_APP
    if project.exists():
        shutil.rmtree(project)
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(chalice_app(n, pool_arn, edited=False))
    (project / "requirements.txt").write_text("")
    (project / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": CHALICE_APP,
        "stages": {"dev": {"api_gateway_stage": CHALICE_STAGE, "api_gateway_endpoint_type": "REGIONAL"}},
    }, indent=2))  # fmt: skip
    runs = [measure(server, "chalice", "fresh", [exe, "deploy"], project, env)]
    runs.append(measure_later(server, "chalice", "noop", [exe, "deploy"], project, env))
    (project / "app.py").write_text(chalice_app(n, pool_arn, edited=True))
    runs.append(measure_later(server, "chalice", "edit", [exe, "deploy"], project, env))
    runs.append(measure_later(server, "chalice", "down", [exe, "delete"], project, env))
    return runs


def summary(runs: list[Run]) -> dict[str, Any]:
    last = runs[-1]
    return {
        "wall_s": round(statistics.median(r.wall_s for r in runs), 3),
        "wall_s_runs": [round(r.wall_s, 3) for r in runs],
        "calls": last.total,
        "mutating": last.mutating,
        "refused": sum(1 for c in last.aws_calls if c["status"] == 429),
        "exit_code": last.exit_code,
    }


def check(results: dict[str, Any]) -> list[dict[str, Any]]:
    by = results["counts"]
    out = []

    def target(text: str, value: str, met: bool) -> None:
        out.append({"target": text, "value": value, "met": met})

    top = str(max(int(k) for k in by))
    c, h = by[top]["cogapi"]["fresh"], by[top]["chalice"]["fresh"]
    target(f"fresh up of {top} routes no slower than Chalice's", f"{c['wall_s']} s vs {h['wall_s']} s",
           c["wall_s"] <= h["wall_s"])  # fmt: skip
    if "1" in by:
        c, h = by["1"]["cogapi"]["fresh"], by["1"]["chalice"]["fresh"]
        target("fresh up of the 1-route seed <= 0.8 x Chalice's",
               f"{c['wall_s']} s vs 0.8 x {h['wall_s']} = {round(0.8 * h['wall_s'], 3)} s",
               c["wall_s"] <= 0.8 * h["wall_s"])  # fmt: skip
    for n, tools in sorted(by.items(), key=lambda kv: int(kv[0])):
        for phase in ("noop", "status"):
            p = tools["cogapi"][phase]
            target(f"{n} route(s): {phase} <= 13 calls, 0 mutating",
                   f"{p['calls']} calls, {p['mutating']} mutating",
                   p["calls"] <= 13 and p["mutating"] == 0)  # fmt: skip
        e = tools["cogapi"]["edit"]
        target(f"{n} route(s): one-route edit <= 3 mutating, <= 16 calls",
               f"{e['mutating']} mutating, {e['calls']} calls",
               e["mutating"] <= 3 and e["calls"] <= 16)  # fmt: skip
        target(f"{n} route(s): status in sync after up", f"exit {tools['cogapi']['status']['exit_code']}",
               tools["cogapi"]["status"]["exit_code"] == 0)  # fmt: skip
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        f"Run {results['date']}; {results['latency_ms']:g} ms per call and API Gateway's quotas "
        "enforced as 429s (10 req/s burst 40; CreateResource 5/s; CreateDeployment 1 per 5 s; "
        "CreateRestApi/ImportRestApi 1 per 3 s; PutRestApi 1/s; DeleteRestApi 1 per 30 s; "
        f"GetResources 5 per 2 s); medians of {results['repeat']} round(s). Rerun: "
        f"`python bench/routes.py --repeat {results['repeat']}`. Calls: all requests (mutating; "
        "refused with 429).",
        "",
        "| routes | phase | cogapi wall s | cogapi calls (mutating; refused) | Chalice wall s | Chalice calls (mutating; refused) |",
        "|--:|---|--:|--:|--:|--:|",
    ]
    for n, tools in sorted(results["counts"].items(), key=lambda kv: int(kv[0])):
        for phase in ("fresh", "noop", "status", "edit", "down"):
            c = tools["cogapi"].get(phase)
            h = tools["chalice"].get(phase)

            def cell(p: dict[str, Any] | None) -> tuple[str, str]:
                if p is None:
                    return "-", "-"
                return str(p["wall_s"]), f"{p['calls']} ({p['mutating']}; {p['refused']})"

            cw, cc = cell(c)
            hw, hc = cell(h)
            lines.append(f"| {n} | {phase} | {cw} | {cc} | {hw} | {hc} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    cogapi, chalice = find_exe("cogapi"), find_exe("chalice")
    compile_cogapi()
    machine = machine_info()
    counts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cogapi-routes-") as tmp:
        scratch = Path(tmp)
        with MotoServer(args.latency_ms, quotas=True) as server:
            env = aws_env(server.url, scratch)
            pool_arn = prepare_server(server, env)
            config = scratch / "cogapi" / "cogapi.yaml"
            config.parent.mkdir()
            subprocess.run([cogapi, "init", "--name", "bench", "-c", str(config)], env=env,
                           check=True, capture_output=True)  # fmt: skip
            base = yaml.safe_load(config.read_text())
            for i, n in enumerate(args.counts):
                rounds: dict[str, dict[str, list[Run]]] = {"cogapi": {}, "chalice": {}}
                for r in range(args.repeat):
                    if i or r:
                        time.sleep(SETTLE_S)
                    print(f"{n} route(s), round {r + 1}: cogapi...", file=sys.stderr)
                    for run_ in cogapi_cycle(server, cogapi, config, base, n, env):
                        rounds["cogapi"].setdefault(run_.phase, []).append(run_)
                    time.sleep(SETTLE_S)
                    print(f"{n} route(s), round {r + 1}: chalice...", file=sys.stderr)
                    for run_ in chalice_cycle(server, chalice, scratch, pool_arn, n, env):
                        rounds["chalice"].setdefault(run_.phase, []).append(run_)
                counts[str(n)] = {
                    tool: {phase: summary(rs) for phase, rs in phases.items()}
                    for tool, phases in rounds.items()
                }
    import datetime as dt

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "latency_ms": args.latency_ms, "repeat": args.repeat, "machine": machine,
        "counts": counts,
    }  # fmt: skip
    results["targets"] = check(results)
    return results


def save(results: dict[str, Any]) -> None:
    path = BENCH / "results.json"
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc["route_scaling"] = results
    path.write_text(json.dumps(doc, indent=2) + "\n")
    md = BENCH / "RESULTS.md"
    text = md.read_text() if md.exists() else ""
    text = re.split(rf"^{re.escape(SECTION)}$", text, maxsplit=1, flags=re.M)[0].rstrip()
    md.write_text((text + "\n\n" if text else "") + markdown(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    try:
        results = run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(results))
    if not args.no_save:
        save(results)
    missed = [t for t in results["targets"] if not t["met"]]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
