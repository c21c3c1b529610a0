"""What `bench/deploy.py` measured, summarised and rendered: `Run` (one timed command and the
requests the server saw during it), medians per tool and phase, the targets of the issue, and
the plain-text/markdown tables. Pure functions of the runs; nothing here starts a process.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

UNSIGNED = "unsigned"  # moto_latency_server's service name for requests that are no AWS call
HELP_TARGET_S = 0.06
NOOP_CALLS_TARGET = 13


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
