"""A handler's worker process: a Lambda execution environment for one function configuration.

Started by `runner.py` by file path (it needs nothing from cogapi; standard library only) as
`python _bootstrap.py CODE_DIR HANDLER REQUEST_FD ANSWER_FD MAX_ANSWER_BYTES`, in a session of
its own. Protocol: one JSON request per line on REQUEST_FD, one JSON answer per line on
ANSWER_FD; the worker serves requests until REQUEST_FD reaches end of file. The handler's module
is imported on the first request and kept, so module-level state lives as long as the worker,
as in a warm Lambda. fd 0 is /dev/null and fds 1 and 2 are the log file the runner reads after
each answer, so a handler's prints never reach the answer.

Containment: the worker is a child subreaper (Linux), so whatever a handler starts stays its
descendant even after a double fork or `setsid`. Before each answer it kills and reaps every
such process, so a handler's children never outlive the invocation that started them (Lambda
freezes them instead; locally, killing is the only way to keep them from running on).
"""

import contextlib
import importlib
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36


class LambdaContext:
    def __init__(self, info, deadline):
        self.function_name = info["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = info["function_arn"]
        self.memory_limit_in_mb = str(info["memory_size"])
        self.aws_request_id = info["request_id"]
        self.log_group_name = "/aws/lambda/" + info["function_name"]
        self.log_stream_name = "local/[$LATEST]" + info["request_id"].replace("-", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(error_type, message, trace=None):
    return {
        "ok": False,
        "errorType": error_type,
        "errorMessage": message,
        "stackTrace": trace or [],
    }


def _become_subreaper():
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # then only the runner's process-group kill contains the handler's children


def _ask_for_short_slices():
    """`slices.py` beside this file, loaded by path under a private name: the worker imports
    nothing of cogapi's as a module a handler could see. Best effort, as it is there."""
    try:
        import importlib.util

        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slices.py")
        spec = importlib.util.spec_from_file_location("_cogapi_slices", path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.ask_for_short_slices()
    except (OSError, ImportError, AttributeError, SyntaxError):
        pass


def _children():
    pids: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except (OSError, ValueError):
            continue
    return pids


def kill_leftovers():
    """SIGKILL and reap every descendant; orphans of a killed child are re-parented to this
    subreaper, so repeat until none is left."""
    try:
        # One system call tells whether there is any child (live or a zombie), of any thread;
        # almost always there is none, and reading /proc to find out costs 20 times as much
        # (about 23 us a call here). A descendant whose parent died is re-parented to this
        # subreaper, so it counts too.
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return
    except OSError:
        pass  # then /proc decides
    for _ in range(100):
        pids = _children()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


class Handler:
    def __init__(self, code_dir, handler):
        self.code_dir = code_dir
        self.module_name, _, self.func_name = handler.rpartition(".")
        self.func: Any = None

    def load(self):
        if self.func is not None:
            return None
        try:
            module = importlib.import_module(self.module_name.replace("/", "."))
        except Exception as exc:
            return _error(
                "Runtime.ImportModuleError", f"Unable to import module '{self.module_name}': {exc}"
            )
        func = getattr(module, self.func_name, None)
        if not callable(func):
            return _error(
                "Runtime.HandlerNotFound",
                f"Handler '{self.func_name}' missing on module '{self.module_name}'",
            )
        self.func = func
        return None

    def run(self, request):
        failed = self.load()
        if failed is not None:
            return failed
        context = LambdaContext(request["context"], time.monotonic() + request["timeout"])
        try:
            result = self.func(request["event"], context)
        except BaseException as exc:  # SystemExit too: Lambda reports it as an error
            trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
            return _error(type(exc).__name__, str(exc), [line.rstrip() for line in trace])
        return {"ok": True, "result": result}


def _encode(answer, limit):
    try:
        data = json.dumps(answer)
    except (TypeError, ValueError) as exc:
        data = json.dumps(_error("Runtime.MarshalError", f"Unable to marshal response: {exc}"))
    if len(data) > limit:
        data = json.dumps(
            _error(
                "Function.ResponseSizeTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
            )
        )
    return data.encode() + b"\n"


def main():
    code_dir, handler, request_fd, answer_fd, limit = sys.argv[1:6]
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # the handler must not import cogapi's modules by accident
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    requests = os.fdopen(int(request_fd), "rb")
    answers = os.fdopen(int(answer_fd), "wb", buffering=0)
    os.set_inheritable(requests.fileno(), False)
    os.set_inheritable(answers.fileno(), False)
    _become_subreaper()
    _ask_for_short_slices()
    function = Handler(code_dir, handler)
    for line in requests:
        answer = function.run(json.loads(line))
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        kill_leftovers()
        data = memoryview(_encode(answer, int(limit)))
        while data:
            data = data[answers.write(data) :]


if __name__ == "__main__":
    main()
