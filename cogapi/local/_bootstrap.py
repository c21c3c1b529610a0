"""Runs inside the handler's own Python process (started by `runner.py`, by file path, so it needs
nothing from cogapi). Protocol: one JSON request on stdin, one JSON answer on the original stdout.
The handler's own prints go to stderr, like Lambda sends them to the log, never into the answer.
Standard library only.
"""

import importlib
import json
import os
import sys
import time
import traceback


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
    return {"ok": False, "errorType": error_type, "errorMessage": message,
            "stackTrace": trace or []}


def _run(request):
    code_dir = request["code_dir"]
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    module_name, _, func_name = request["handler"].rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as exc:
        return _error("Runtime.ImportModuleError",
                      f"Unable to import module '{module_name}': {exc}")
    func = getattr(module, func_name, None)
    if not callable(func):
        return _error("Runtime.HandlerNotFound",
                      f"Handler '{func_name}' missing on module '{module_name}'")
    context = LambdaContext(request["context"], time.monotonic() + request["timeout"])
    try:
        result = func(request["event"], context)
    except BaseException as exc:  # SystemExit too: Lambda reports it as an error
        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return _error(type(exc).__name__, str(exc), [line.rstrip() for line in trace])
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    return {"ok": True, "result": result}


def main():
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    request = json.load(sys.stdin)
    answer.write(json.dumps(_run(request)))
    answer.flush()


if __name__ == "__main__":
    main()
