"""Short scheduler slices for the threads and workers of `cogapi local` (Linux 6.12 and later).

Why: one request through `cogapi local` wakes four tasks in turn (the client, a server thread,
the function's worker, the server thread again), where a bare handler call wakes two. On a
machine whose CPUs are busy with other work, each wake-up may wait out the slice of whatever
runs there (1.4 ms by default on a 2-CPU machine), and those waits, not the gateway's own work,
made the data plane's p99 latency. Since Linux 6.12 the EEVDF scheduler lets an ordinary
(SCHED_OTHER) thread ask for shorter slices: `sched_setattr` with `sched_runtime`, from 0.1 ms
to 100 ms, no privilege needed. The thread keeps exactly its fair share of CPU, only it is given
in shorter turns, and a waking thread with a shorter slice than the running one preempts it at
once. bench/local_dataplane.py with both CPUs kept busy by two other processes measured a p99
overhead over the bare handler, on new connections, of 2.0 to 3.2 ms without this (0 of 7 runs
within the 2 ms target) and 1.4 to 2.0 ms with it (9 of 10; the miss 3.3 ms).

A thread's setting is inherited by the threads and processes it starts (and kept across exec).
The server's threads ask for it each as they start (`accepting`), never the thread that created
the server, so an embedding program's own threads are left as they are; every worker asks at
its start (`_bootstrap` loads this file by path: it imports nothing else of cogapi's), since a
`FunctionRunner` may be driven from a thread that did not ask.

Standard library only. Kernels before 6.12 accept the call and ignore `sched_runtime` for
SCHED_OTHER; other systems and architectures, and threads under another policy (a user's
`chrt --batch`, say), are left alone.
"""

from __future__ import annotations

import os
import struct
import sys

SLICE_NS = 100_000  # the shortest slice Linux grants: 0.1 ms

# sched_setattr(2) has no libc wrapper in the glibc versions still common; its number by machine
_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274, "arm64": 274}
_SCHED_OTHER = 0
# struct sched_attr as of Linux 4.13 (SCHED_ATTR_SIZE_VER1): size, policy, flags, nice,
# priority, runtime, deadline, period, util_min, util_max
_ATTR = struct.Struct("=IIQiIQQQII")


def ask_for_short_slices(slice_ns: int = SLICE_NS) -> bool:
    """Ask that the calling thread be scheduled in slices of `slice_ns`; True when the kernel
    took the request (which a kernel before 6.12 does, and ignores), False when not asked."""
    number = _SCHED_SETATTR.get(os.uname().machine) if sys.platform == "linux" else None
    if number is None:
        return False
    try:
        if os.sched_getscheduler(0) != _SCHED_OTHER:
            return False
        import ctypes

        nice = os.getpriority(os.PRIO_PROCESS, 0)  # this thread's, on Linux: kept as it is
        attr = ctypes.create_string_buffer(
            _ATTR.pack(_ATTR.size, _SCHED_OTHER, 0, nice, 0, slice_ns, 0, 0, 0, 0), _ATTR.size
        )
        return ctypes.CDLL(None, use_errno=True).syscall(number, 0, attr, 0) == 0
    except (OSError, AttributeError):  # no libc to call through, or a sandbox refusing it
        return False
