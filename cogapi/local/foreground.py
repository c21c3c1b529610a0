"""`cogapi local` in the foreground: start the stand-in, print how to point cogapi at it, wait for Ctrl-C."""

from __future__ import annotations

import time

from cogapi.errors import ExitStatus
from cogapi.ui import UI


def run_local(ui: UI, host: str, port: int, *, verbose: bool = False) -> ExitStatus:
    import logging

    from cogapi.local.moto_state import require_local_extra

    require_local_extra()
    from cogapi.local.server import LocalServer

    server = LocalServer(host, port, log_requests=verbose)
    endpoint = server.start()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    ui.result(f"cogapi local: AWS control plane, hosted UI and API Gateway at {endpoint}")
    ui.result("In another shell, point cogapi (and the AWS CLI) at it:")
    ui.result(
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local"
    )
    ui.result("  cogapi init && cogapi up")
    ui.result(
        f"or put `endpoint_url: {endpoint}` in cogapi.yaml. Ctrl-C stops the server (state is lost)."
    )
    try:
        while True:  # the server runs in its thread; this one waits for Ctrl-C
            time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C is how this command ends
        ui.info("cogapi local stopped.")
        return ExitStatus.INTERRUPTED
    finally:
        server.stop()
    return ExitStatus.OK
