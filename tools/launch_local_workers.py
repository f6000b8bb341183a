#!/usr/bin/env python
"""Run N training workers on this machine (127.0.0.1, free ports) with a TF_CONFIG each.

    python tools/launch_local_workers.py 2 -- keras-sr train srcnn --strategy multiworker ...

Each worker's output is streamed with a ``[worker i]`` prefix (after a ``[launcher] worker i:
pid N`` line per worker). All workers are stopped on
Ctrl-C or as soon as one fails; the exit code is the first failing worker's (0 if all pass).
On a real cluster, set the same TF_CONFIG on every host instead (see docs/scale_out.md).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def tf_configs(n: int, ports=None) -> list[dict]:
    ports = ports or free_ports(n)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}} for i in range(n)]


def _pump(i: int, stream) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"[worker {i}] {line.decode(errors='replace')}")
        sys.stdout.flush()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv or not argv[0].isdigit() or int(argv[0]) < 1:
        print("usage: launch_local_workers.py N -- COMMAND ...", file=sys.stderr)
        return 2
    n, cmd = int(argv[0]), argv[argv.index("--") + 1:]
    if not cmd:
        print("Error: no command after --", file=sys.stderr)
        return 2
    procs, threads = [], []
    for i, cfg in enumerate(tf_configs(n)):
        env = dict(os.environ, TF_CONFIG=json.dumps(cfg))
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        print(f"[launcher] worker {i}: pid {p.pid}", flush=True)
        th = threading.Thread(target=_pump, args=(i, p.stdout), daemon=True)
        th.start()
        threads.append(th)

    def stop_all():
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.time() + 10
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)

    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                print(f"Error: a worker exited with code {failed[0]}; stopping the others", file=sys.stderr)
                stop_all()
                return failed[0]
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop_all()
        return 130
    finally:
        for th in threads:
            th.join(timeout=2)


if __name__ == "__main__":
    sys.exit(main())
