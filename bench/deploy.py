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
Chalice sends; `bench/moto_swagger2_shim.py` is the patch, applied in the server process only.

Writes bench/results.json and bench/RESULTS.md (unless --no-save) and prints the table. Exit
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REGION = "us-east-1"
RUN_TIMEOUT_S = 180
UNSIGNED = "unsigned"  # moto_latency_server's service name for requests that are no AWS call
HELP_TARGET_S = 0.06
NOOP_CALLS_TARGET = 13
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


@dataclass
class Run:
    tool: str
    phase: str
    wall_s: float
    exit_code: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    launched: float = 0.0  # time.time() around the subprocess, same clock as the server's
    finished: float = 0.0

    @property
    def aws_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["service"] != UNSIGNED]

    @property
    def unsigned(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["service"] == UNSIGNED]

    @property
    def total(self) -> int:
        return len(self.aws_calls)

    @property
    def mutating(self) -> int:
        return sum(1 for c in self.aws_calls if c["mutating"])

    def timeline(self) -> dict[str, float]:
        """Where the wall time went: before the first request, between the first request and the
        last answer, after it; and the most requests in flight at once."""
        if not self.calls:
            return {
                "before_first_s": self.wall_s,
                "requests_s": 0.0,
                "after_last_s": 0.0,
                "peak_in_flight": 0,
            }
        first = min(c["start"] for c in self.calls)
        last = max(c["end"] for c in self.calls)
        events = sorted(
            [(c["start"], 1) for c in self.calls] + [(c["end"], -1) for c in self.calls]
        )
        peak = now = 0
        for _, step in events:
            now += step
            peak = max(peak, now)
        return {
            "before_first_s": first - self.launched,
            "requests_s": last - first,
            "after_last_s": self.finished - last,
            "peak_in_flight": peak,
        }


# ---- the moto server ----------------------------------------------------------------------


class MotoServer:
    """`moto_latency_server.py` in a subprocess on a free loopback port."""

    def __init__(self, latency_ms: float) -> None:
        self.latency_ms = latency_ms
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> MotoServer:
        self._proc = subprocess.Popen(
            [sys.executable, str(BENCH / "moto_latency_server.py"), "--port", "0",
             "--latency-ms", str(self.latency_ms)],
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


# ---- summarising ----------------------------------------------------------------------------

PHASES = [  # (key, row label, cogapi command, Chalice command)
    ("fresh", "fresh deploy", "up --yes", "deploy"),
    ("noop", "no-op redeploy", "up --yes", "deploy"),
    ("status", "status", "status", None),
    ("down", "teardown", "down --yes", "delete"),
]


def op_counts(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counted = Counter((c["service"], c["operation"], c["mutating"]) for c in calls)
    return [
        {"service": s, "operation": o, "mutating": m, "count": n}
        for (s, o, m), n in sorted(counted.items())
    ]


def summarise(runs: list[Run]) -> dict[str, Any]:
    by_key: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        by_key.setdefault((run.tool, run.phase), []).append(run)
    out: dict[str, Any] = {}
    for (tool, phase), group in by_key.items():
        totals = [r.total for r in group]
        mutating = [r.mutating for r in group]
        timelines = [r.timeline() for r in group]
        out.setdefault(tool, {})[phase] = {
            "wall_s_median": round(statistics.median(r.wall_s for r in group), 3),
            "wall_s_runs": [round(r.wall_s, 3) for r in group],
            "calls_median": statistics.median(totals),
            "calls_range": [min(totals), max(totals)],
            "mutating_median": statistics.median(mutating),
            "mutating_range": [min(mutating), max(mutating)],
            "timeline_median": {
                k: round(statistics.median(t[k] for t in timelines), 3) for k in timelines[0]
            },
            "operations_last_round": op_counts(group[-1].aws_calls),
            "failed_calls_last_round": [
                f"{c['operation']} ({c['status']})"
                for c in group[-1].aws_calls
                if c["status"] >= 400
            ],
            "timeline_last_round": [
                {
                    "call": f"{c['service']} {c['operation']}",
                    "status": c["status"],
                    "start_ms": round((c["start"] - group[-1].launched) * 1000),
                    "end_ms": round((c["end"] - group[-1].launched) * 1000),
                }
                for c in sorted(group[-1].calls, key=lambda c: c["start"])
            ],
            "unsigned_requests_last_round": [
                f"{c['operation']} ({c['status']})" for c in group[-1].unsigned
            ],
        }
    return out


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    cog, cha = results["cogapi"], results["chalice"]
    noop = cog["noop"]
    return [
        {"target": f"`cogapi --help` <= {HELP_TARGET_S} s", "value": f"{results['help']['cogapi_s_median']:.3f} s",
         "met": results["help"]["cogapi_s_median"] <= HELP_TARGET_S},
        {"target": "no-op `up`: 0 mutating calls", "value": _calls(noop, "mutating"),
         "met": noop["mutating_range"][1] == 0},
        {"target": f"no-op `up`: <= {NOOP_CALLS_TARGET} calls in all", "value": _calls(noop, "calls"),
         "met": noop["calls_range"][1] <= NOOP_CALLS_TARGET},
        {"target": "fresh `up` (whole stack) no slower than Chalice's fresh deploy (its part)",
         "value": f"{cog['fresh']['wall_s_median']:.2f} s vs {cha['fresh']['wall_s_median']:.2f} s",
         "met": cog["fresh"]["wall_s_median"] <= cha["fresh"]["wall_s_median"]},
        {"target": "`status` right after `up` finds the stack in sync", "value": "exit 0" if results["status_in_sync"] else "exit 3",
         "met": results["status_in_sync"]},
    ]  # fmt: skip


def _calls(phase: dict[str, Any], what: str) -> str:
    lo, hi = phase[f"{what}_range"]
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _cell(phase: dict[str, Any] | None) -> tuple[str, str]:
    if phase is None:
        return "-", "-"
    calls = f"{_calls(phase, 'calls')} ({_calls(phase, 'mutating')})"
    return f"{phase['wall_s_median']:.2f}", calls


def table(results: dict[str, Any]) -> str:
    lines = [
        "| | cogapi | wall s | calls (mutating) | Chalice 1.34 | wall s | calls (mutating) |",
        "|---|---|--:|--:|---|--:|--:|",
        f"| start-up | `--help` | {results['help']['cogapi_s_median']:.3f} (best {results['help']['cogapi_s_min']:.3f}) | - | "
        f"`--help` | {results['help']['chalice_s_median']:.3f} (best {results['help']['chalice_s_min']:.3f}) | - |",
    ]
    for key, label, cog_cmd, cha_cmd in PHASES:
        cw, cc = _cell(results["cogapi"].get(key))
        hw, hc = _cell(results["chalice"].get(key))
        lines.append(
            f"| {label} | `{cog_cmd}` | {cw} | {cc} | {'`' + cha_cmd + '`' if cha_cmd else '-'} | {hw} | {hc} |"
        )
    return "\n".join(lines)


def timeline_table(results: dict[str, Any]) -> str:
    lines = [
        "| tool | phase | wall s | before 1st request s | 1st request to last answer s | after last answer s | peak in flight |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for tool in ("cogapi", "chalice"):
        for key, label, _, _ in PHASES:
            phase = results[tool].get(key)
            if phase is None:
                continue
            t = phase["timeline_median"]
            lines.append(
                f"| {tool} | {label} | {phase['wall_s_median']:.2f} | {t['before_first_s']:.2f} | "
                f"{t['requests_s']:.2f} | {t['after_last_s']:.2f} | {t['peak_in_flight']:g} |"
            )
    return "\n".join(lines)


def op_lines(phase: dict[str, Any]) -> list[str]:
    return [
        f"- {o['service']} {o['operation']}{' x' + str(o['count']) if o['count'] > 1 else ''}"
        f"{'  (mutating)' if o['mutating'] else ''}"
        for o in phase["operations_last_round"]
    ]


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        "# Deploy benchmark: cogapi vs Chalice",
        "",
        f"Run {results['date']} on {m['nproc']} CPU(s) ({m['cpu']}), Python {m['python']}, "
        f"{m['platform']}; moto {m['versions']['moto']}, Chalice {m['versions']['chalice']}, "
        f"boto3 {m['versions']['boto3']}; cogapi {m['cogapi_commit']}; load average "
        f"{m['load_average_1m']} at the start (other work on the machine skews wall times).",
        f"{results['latency_ms']:g} ms latency on every AWS call, medians of {results['repeat']} rounds "
        f"(`--help`: of {results['help_runs']} starts). Rerun: `pip install -e '.[bench]' && python bench/deploy.py`.",
        "",
        table(results),
        "",
        f"For scale, a bare `python -c pass` starts in {results['help']['bare_python_s_median']:.3f} s here. "
        "cogapi builds the whole stack (user pool, domain, app client, role, function, REST API with a "
        "Cognito authorizer); Chalice builds its part (role, function, REST API with a Cognito "
        "authorizer on a pool made beforehand). Calls are HTTP requests seen by the server, retries "
        "included; mutating = not Get/List/Describe.",
        "",
        "## Where the time goes (medians)",
        "",
        "Before the first request: interpreter start, imports, config, packaging. The middle span is "
        "bounded below by the latency times the longest chain of dependent calls.",
        "",
        timeline_table(results),
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[
            f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |"
            for t in results["targets"]
        ],
    ]
    for tool, name in (("cogapi", "cogapi"), ("chalice", "Chalice")):
        for key, label, cog_cmd, cha_cmd in PHASES:
            phase = results[tool].get(key)
            if phase is None:
                continue
            cmd = cog_cmd if tool == "cogapi" else cha_cmd
            out += [
                "",
                f"## {name} `{cmd}`: {label}, calls by operation (last round)",
                "",
                *op_lines(phase),
            ]
            if phase["failed_calls_last_round"]:
                out += ["", f"Answered 4xx: {', '.join(phase['failed_calls_last_round'])}."]
            if phase["unsigned_requests_last_round"]:
                out += [
                    "",
                    f"Also, not counted above (unsigned, no AWS API call, but paying the latency): "
                    f"{', '.join(phase['unsigned_requests_last_round'])}.",
                ]
    fresh = results["cogapi"]["fresh"]["timeline_last_round"]
    out += [
        "",
        "## cogapi fresh `up`: timeline of the last round (ms after launch)",
        "",
        "```",
        *[f"{t['start_ms']:>6} {t['end_ms']:>6}  {t['call']} ({t['status']})" for t in fresh],
        "```",
    ]
    return "\n".join(out) + "\n"


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
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
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


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cogapi, chalice = find_exe("cogapi"), find_exe("chalice")
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
