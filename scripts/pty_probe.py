#!/usr/bin/env python3
"""Whole-process figures of opsdeck in a real pseudo-terminal (used by scripts/bench.sh).

    pty_probe.py first-frame BIN [ARGS...]   ms to the first frame, ms to fleet data
    pty_probe.py steady SECONDS BIN [ARGS...] RSS, CPU and terminal bytes over a window
    pty_probe.py idle SECONDS BIN [ARGS...]   frames (writes) and CPU while nothing changes

Each mode prints one line of JSON. The child runs in a 200x50 pty with TERM=xterm-256color,
XDG_CONFIG_HOME pointed at an empty directory (the demo fleet) and a private XDG_STATE_HOME;
it is sent `q` at the end and killed (by its PID) if it has not exited 5 s later.
Standard library only.
"""

import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time

COLS, ROWS = 200, 50
# The tab bar is in every frame; "web-c2" is the last demo backend's name,
# drawn once the hosts poll has answered.
FIRST_FRAME_MARK = b"Overview"
DATA_MARK = b"web-c2"
TICK = os.sysconf("SC_CLK_TCK")


def spawn(argv):
    tmp = tempfile.mkdtemp(prefix="opsdeck-bench-")
    env = dict(os.environ)
    env.update(
        TERM="xterm-256color",
        XDG_CONFIG_HOME=os.path.join(tmp, "config"),
        XDG_STATE_HOME=os.path.join(tmp, "state"),
        XDG_DATA_HOME=os.path.join(tmp, "data"),
    )
    env.pop("NO_COLOR", None)
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.execve(argv[0], argv, env)
    return pid, fd, start


def read_some(fd, timeout):
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:
        return None  # the child closed the pty


def answer_queries(fd, chunk):
    # crossterm asks for the cursor position (CSI 6n) on start; answer like a terminal.
    if b"\x1b[6n" in chunk:
        os.write(fd, b"\x1b[1;1R")


def stop(pid, fd):
    try:
        os.write(fd, b"q")
    except OSError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        read_some(fd, 0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)


def proc(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return cpu, rss, hwm


def first_frame(argv):
    pid, fd, start = spawn(argv)
    seen = b""
    first = data = None
    while time.monotonic() - start < 60 and data is None:
        chunk = read_some(fd, 0.5)
        if chunk is None:
            break
        answer_queries(fd, chunk)
        seen += chunk
        now = time.monotonic()
        if first is None and FIRST_FRAME_MARK in seen:
            first = now
        if first is not None and DATA_MARK in seen:
            data = now
        seen = seen[-4096:]
    stop(pid, fd)
    ms = lambda t: None if t is None else round((t - start) * 1000, 1)
    return {"first_frame_ms": ms(first), "data_ms": ms(data)}


def window(argv, seconds, settle):
    """Runs the child, lets it settle, then measures a window of `seconds`."""
    pid, fd, start = spawn(argv)
    out = 0
    writes = 0

    def pump(until):
        nonlocal out, writes
        while time.monotonic() < until:
            chunk = read_some(fd, 0.1)
            if chunk is None:
                return False
            if chunk:
                answer_queries(fd, chunk)
                out += len(chunk)
                writes += 1
        return True

    pump(start + settle)
    cpu0, _, _ = proc(pid)
    out0, writes0, t0 = out, writes, time.monotonic()
    pump(t0 + seconds)
    cpu1, rss, hwm = proc(pid)
    elapsed = time.monotonic() - t0
    stop(pid, fd)
    return {
        "seconds": round(elapsed, 1),
        "cpu_percent": round(100 * (cpu1 - cpu0) / elapsed, 2),
        "rss_mib": round(rss / 2**20, 1),
        "peak_rss_mib": round(hwm / 2**20, 1),
        "terminal_bytes": out - out0,
        "terminal_writes": writes - writes0,
    }


def main():
    mode = sys.argv[1]
    if mode == "first-frame":
        print(json.dumps(first_frame(sys.argv[2:])))
    elif mode == "steady":
        print(json.dumps(window(sys.argv[3:], float(sys.argv[2]), settle=5)))
    elif mode == "idle":
        print(json.dumps(window(sys.argv[3:], float(sys.argv[2]), settle=5)))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
