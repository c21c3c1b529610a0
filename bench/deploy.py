"""Deploy benchmark: cogapi and Chalice 1.34 side by side against a moto server with latency.

How to run (from the repository root; loopback only, a few minutes at most):

    pip install -e '.[bench]' && python bench/deploy.py
    python bench/deploy.py --latency-ms 50 --repeat 3      # the defaults
    python bench/deploy.py --no-save                      # print only, keep bench/RESULTS.*

What it measures, in one run, each a subprocess timed by wall clock (medians of --repeat rounds,
cogapi and Chalice interleaved round by round so machine noise hits both alike):
- `cogapi --help` (and `chalice --help` for reference): median of --help-runs starts.
- cogapi with the example config (pool, domain, client, role, function, REST API with a Cognito
  authorizer): fresh `up --yes`, no-op `up --yes`, `status`, `down --yes`.
- Chalice deploying its part of the same stack (role, function, REST API whose one route is
  protected by a `CognitoUserPoolAuthorizer` on a pool made beforehand with boto3): fresh
  `chalice deploy` (a new project directory each round, so no cached package), no-op
  `chalice deploy`, `chalice delete`.
AWS calls are counted by the server (`bench/moto_latency_server.py`): every HTTP request, by
operation, mutating unless Get/List/Describe. moto 5.2.5 refuses the Swagger 2.0 document
Chalice sends; the server applies it with `cogapi local`'s import (`cogapi.local.apigw_import`),
which reads OpenAPI 3 and Swagger 2.0 as AWS does.

Summaries and tables come from `bench/deploy_report.py`. Writes bench/results.json and
bench/RESULTS.md (unless --no-save) and prints the table. Exit
status: 0 when every run worked (1 with --check if a target was missed); 2 when a run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from deploy_report import (
    Run,
    check_targets,
    markdown,
    op_lines,
    summarise,
    table,
    timeline_table,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REGION = "us-east-1"
RUN_TIMEOUT_S = 180
CHALICE_APP = "bench-chalice"
CHALICE_STAGE = "test"
CHALICE_APP_PY = """\
from chalice import Chalice, CognitoUserPoolAuthorizer

app = Chalice(app_name="{app}")
authorizer = CognitoUserPoolAuthorizer("bench-authorizer", provider_arns=["{pool_arn}"])


@app.route("/test-API-resource", methods=["GET"], authorizer=authorizer.with_scopes(["email"]))
def test_api_resource():
    return {{"message": "Hello World"}}
"""


class BenchError(Exception):
    """A run that did not do what it should; the benchmark stops and saves nothing."""


# ---- the moto server ----------------------------------------------------------------------


class MotoServer:
    """`moto_latency_server.py` in a subprocess on a free loopback port."""

    def __init__(self, latency_ms: float, quotas: bool = False) -> None:
        self.latency_ms = latency_ms
        self.quotas = quotas
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> MotoServer:
        self._proc = subprocess.Popen(
            [sys.executable, str(BENCH / "moto_latency_server.py"), "--port", "0",
             "--latency-ms", str(self.latency_ms), *(["--quotas"] if self.quotas else [])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        stdout = self._proc.stdout
        assert stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        if not line or not line[0].startswith("READY "):
            self._stop()
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise BenchError(f"moto server did not start: {err.strip()[-2000:]}")
        self.url = line[0].split()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def reset(self) -> None:
        self._bench("reset", method="POST")

    def calls(self) -> list[dict[str, Any]]:
        return list(self._bench("calls")["calls"])

    def _bench(self, what: str, method: str = "GET") -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.url}/_bench/{what}", method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.load(resp))


def aws_env(endpoint: str, scratch: Path) -> dict[str, str]:
    """The environment of every measured command: fake credentials, the server, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COGAPI_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": str(scratch / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(scratch / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })  # fmt: skip
    return env


def prepare_server(server: MotoServer, env: dict[str, str]) -> str:
    """Touch every backend once (moto builds them lazily, IAM loads ~1,000 managed policies on
    first use), make the pool Chalice's authorizer points at, and forget those calls. Returns the
    pool ARN."""
    import boto3

    kw: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": server.url,
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }
    boto3.client("sts", **kw).get_caller_identity()
    boto3.client("iam", **kw).list_policies(MaxItems=1)
    boto3.client("lambda", **kw).list_functions()
    boto3.client("apigateway", **kw).get_rest_apis()
    cognito = boto3.client("cognito-idp", **kw)
    pool = cognito.create_user_pool(PoolName=f"{CHALICE_APP}-pool", UsernameAttributes=["email"])[
        "UserPool"
    ]
    server.reset()
    return str(pool["Arn"])


# ---- measuring ------------------------------------------------------------------------------


def measure(
    server: MotoServer,
    tool: str,
    phase: str,
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    ok_codes: tuple[int, ...] = (0,),
) -> Run:
    server.reset()
    launched = time.time()
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{tool} {phase}: `{' '.join(argv)}` ran over {RUN_TIMEOUT_S} s") from None
    wall = time.perf_counter() - start
    finished = time.time()
    if proc.returncode not in ok_codes:
        raise BenchError(
            f"{tool} {phase}: `{' '.join(argv)}` exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
    run = Run(tool, phase, wall, proc.returncode, server.calls(), launched, finished)
    failed = [c for c in run.calls if c["status"] >= 500]
    if failed:
        raise BenchError(f"{tool} {phase}: moto answered 5xx to {[c['operation'] for c in failed]}")
    return run


def time_starts(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall times of `runs` starts of each command, taken round-robin so that a burst of other
    work on the machine slows every command alike, after one untimed start that warms the caches."""
    for argv in commands.values():
        subprocess.run(argv, capture_output=True, check=True)
    out: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            out[name].append(time.perf_counter() - start)
    return out


def cogapi_round(server: MotoServer, exe: str, config: Path, env: dict[str, str]) -> list[Run]:
    opts = ["-c", str(config), "-o", "json"]
    cwd = config.parent
    fresh = measure(server, "cogapi", "fresh", [exe, "up", "--yes", *opts], cwd, env)
    noop = measure(server, "cogapi", "noop", [exe, "up", "--yes", *opts], cwd, env)
    # status exits 3 when the stack is out of sync: still a measurement, flagged in the report.
    status = measure(server, "cogapi", "status", [exe, "status", *opts], cwd, env, ok_codes=(0, 3))
    down = measure(server, "cogapi", "down", [exe, "down", "--yes", *opts], cwd, env)
    return [fresh, noop, status, down]


def chalice_round(
    server: MotoServer, exe: str, workdir: Path, pool_arn: str, env: dict[str, str]
) -> list[Run]:
    project = workdir / CHALICE_APP
    if project.exists():
        shutil.rmtree(project)  # a fresh project: no cached deployment package, no deployed state
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text(CHALICE_APP_PY.format(app=CHALICE_APP, pool_arn=pool_arn))
    (project / "requirements.txt").write_text("")
    (project / ".chalice" / "config.json").write_text(json.dumps({
        "version": "2.0", "app_name": CHALICE_APP,
        "stages": {"dev": {"api_gateway_stage": CHALICE_STAGE, "api_gateway_endpoint_type": "REGIONAL"}},
    }, indent=2))  # fmt: skip
    fresh = measure(server, "chalice", "fresh", [exe, "deploy"], project, env)
    noop = measure(server, "chalice", "noop", [exe, "deploy"], project, env)
    down = measure(server, "chalice", "down", [exe, "delete"], project, env)
    return [fresh, noop, down]


def machine_info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def ver(pkg: str) -> str:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            # The last commit that touched cogapi/, not HEAD: bench and test commits change nothing measured.
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "cogapi"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "cogapi",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " (cogapi/ modified)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "nproc": nproc, "cpu": cpu, "python": platform.python_version(), "platform": platform.platform(),
        "versions": {p: ver(p) for p in ("cogapi", "moto", "chalice", "boto3", "botocore")},
        "cogapi_commit": commit,
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }  # fmt: skip


# ---- main -----------------------------------------------------------------------------------


def find_exe(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise BenchError(
            f"`{name}` not found next to {sys.executable} or on PATH; run: pip install -e '.[bench]'"
        )
    return found


def compile_cogapi() -> None:
    """Byte-compile cogapi's modules, as installing a package does.

    Chalice, moto and botocore come from site-packages, compiled when pip installed them; cogapi
    is an editable checkout, and on a machine that sets PYTHONDONTWRITEBYTECODE (this one does)
    every start would compile its ~60 modules from source again: about 0.1 s that no installed
    cogapi pays. Compiling the checkout once puts both tools on the same footing.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "cogapi"), quiet=1)


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cogapi, chalice = find_exe("cogapi"), find_exe("chalice")
    compile_cogapi()
    print(f"timing --help ({args.help_runs} starts each)...", file=sys.stderr)
    machine = machine_info()  # before the run: the load average says how quiet the machine was
    starts = time_starts(
        {
            "bare_python": [sys.executable, "-c", "pass"],
            "cogapi": [cogapi, "--help"],
            "chalice": [chalice, "--help"],
        },
        args.help_runs,
    )
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="cogapi-bench-") as tmp:
        scratch = Path(tmp)
        with MotoServer(args.latency_ms) as server:
            env = aws_env(server.url, scratch)
            pool_arn = prepare_server(server, env)
            config = scratch / "cogapi" / "cogapi.yaml"
            config.parent.mkdir()
            subprocess.run(
                [cogapi, "init", "--name", "bench", "-c", str(config)],
                env=env,
                check=True,
                capture_output=True,
            )
            for n in range(1, args.repeat + 1):
                print(f"round {n}/{args.repeat}: cogapi...", file=sys.stderr)
                runs += cogapi_round(server, cogapi, config, env)
                print(f"round {n}/{args.repeat}: chalice...", file=sys.stderr)
                runs += chalice_round(server, chalice, scratch, pool_arn, env)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "latency_ms": args.latency_ms, "repeat": args.repeat, "help_runs": args.help_runs,
        "machine": machine,
        "help": {f"{name}_s_{stat}": round(fn(times), 4)
                 for name, times in starts.items() for stat, fn in (("median", statistics.median), ("min", min))}
                | {f"{name}_s_runs": [round(t, 4) for t in times] for name, times in starts.items()},
        **summarise(runs),
    }  # fmt: skip
    results["status_in_sync"] = all(r.exit_code == 0 for r in runs if r.phase == "status")
    results["targets"] = check_targets(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="cogapi vs Chalice deploy benchmark against a moto server with latency.",
        epilog="Install first: pip install -e '.[bench]'",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="sleep before every AWS call (default 50)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds of each deploy cycle; medians reported (default 3)",
    )
    parser.add_argument(
        "--help-runs", type=int, default=15, help="starts of `--help` to time (default 15)"
    )
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="print only; do not write bench/results.json and bench/RESULTS.md",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.help_runs < 1:
        parser.error("--repeat and --help-runs must be at least 1")
    try:
        results = run_benchmark(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(results))
    print()
    print(timeline_table(results))
    print()
    for t in results["targets"]:
        print(f"{'met   ' if t['met'] else 'MISSED'} {t['target']}: {t['value']}")
    for tool, label in (("cogapi", "cogapi no-op up"), ("chalice", "Chalice no-op deploy")):
        print(f"\n{label}, calls by operation:")
        print("\n".join(op_lines(results[tool]["noop"])))
        if results[tool]["noop"]["unsigned_requests_last_round"]:
            print(
                f"  not counted (unsigned): {', '.join(results[tool]['noop']['unsigned_requests_last_round'])}"
            )
    if not args.no_save:
        (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (BENCH / "RESULTS.md").write_text(markdown(results))
        print(f"\nwrote {BENCH / 'results.json'} and {BENCH / 'RESULTS.md'}", file=sys.stderr)
    missed = [t for t in results["targets"] if not t["met"]]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
