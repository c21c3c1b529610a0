"""What every command that reads the stack starts from: the options, the config, the AWS facade.

`open_stack` checks the config and every flag and environment override before any AWS call, then
builds the one `Aws` facade. `plan_stack` is the read-only path that `up --dry-run`, `status` and
`up` share: discover, build the desired stack, plan. The sign-in commands (`cogapi.auth`) start
here too.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogapi.errors import UsageError
from cogapi.ui import UI


@dataclass(frozen=True)
class Options:
    config_path: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    output: str = "text"
    debug: bool = False


# Where the stack's two endpoints can be set apart (botocore's AWS_ENDPOINT_URL_<service id>).
SERVICE_ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_ENDPOINT_URL_API_GATEWAY",
)


@dataclass
class StackContext:
    cfg: Any  # Config
    aws: Any  # Aws
    given_endpoint: str | None  # --endpoint-url, the config's, or AWS_ENDPOINT_URL
    _local_probe: Future[bool] | None = None
    _probe_url: str | None = None

    @property
    def local_endpoint(self) -> str | None:
        """The endpoint when it is `cogapi local` (then URLs printed are the local ones)."""
        if self._local_probe is None or not self._local_probe.result():
            return None
        return self._probe_url

    @property
    def endpoint_url(self) -> str | None:
        """The one endpoint the stack is reached at, when it is not AWS's own."""
        return self.given_endpoint or self.local_endpoint


def service_endpoint() -> str | None:
    """The endpoint that AWS_ENDPOINT_URL_<SERVICE> names for both the user pool and the API,
    when it is one (as for `cogapi local` without AWS_ENDPOINT_URL); else None."""
    from cogapi.config import endpoint_problem

    values = {os.environ.get(name, "").strip() for name in SERVICE_ENDPOINT_VARIABLES}
    if len(values) != 1:
        return None
    value = values.pop()
    return value if value and not endpoint_problem(value) else None


def open_stack(opts: Options, ui: UI) -> StackContext:
    from cogapi.config import endpoint_problem, load_config, region_problem, resolve_path

    path = resolve_path(opts.config_path)
    cfg = load_config(path)
    # Flags and the environment are checked like the config: before any AWS call.
    if opts.region is not None:  # `--region ""` (an unset `$REGION`) is refused, not ignored
        problem = region_problem(opts.region)
        if problem:
            raise UsageError(f"--region: {problem}")
        cfg = cfg.model_copy(update={"region": opts.region})
    for where, url in (
        ("--endpoint-url", opts.endpoint_url),
        ("AWS_ENDPOINT_URL", os.environ.get("AWS_ENDPOINT_URL") or None),  # empty: unset
    ):
        problem = endpoint_problem(url) if url is not None else None
        if problem:
            raise UsageError(f"{where}: {problem}")
    endpoint = opts.endpoint_url or cfg.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    from cogapi.aws import Aws, make_session
    from cogapi.stack.outputs import is_local_endpoint

    session = make_session(opts.profile, cfg.region)
    aws = Aws(
        session, cfg.region, endpoint_url=opts.endpoint_url or cfg.endpoint_url, on_wait=ui.info
    )
    probe = None
    probe_url = endpoint or service_endpoint()
    if probe_url:  # asked in the background, while discovery runs
        probe = ThreadPoolExecutor(max_workers=1).submit(is_local_endpoint, probe_url)
    return StackContext(cfg, aws, endpoint, probe, probe_url)


def plan_stack(ctx: StackContext) -> tuple[Any, Any, Any]:
    """Discover, build the desired stack, plan. Read-only.

    A stack CloudFormation adopted plans as blocked (`stack.adoption`).
    """
    from cogapi.stack.adoption import refuse_adopted
    from cogapi.stack.code import package
    from cogapi.stack.discover import discover_stack
    from cogapi.stack.models import desired_stack
    from cogapi.stack.planner import plan_up

    cfg = ctx.cfg
    code = package(Path(cfg.function.source) if cfg.function.source else None, cfg.function.handler)
    observed = discover_stack(ctx.aws, cfg)
    assert observed.account_id
    desired = desired_stack(cfg, observed.account_id, code)
    return desired, observed, refuse_adopted(plan_up(desired, observed), observed)


def stack_ids(observed: Any, cfg: Any) -> dict[str, str]:
    """The ids of what exists now (pool, client, API, authorizer, ...), from a discovery."""
    from cogapi.stack.executor import initial_ids

    ids = initial_ids(observed)
    for a in observed.authorizers:
        if a.get("name") == cfg.authorizer_name:
            ids["authorizer_id"] = a["id"]
    return ids
