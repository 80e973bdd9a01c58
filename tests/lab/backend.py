#!/usr/bin/python3
"""A tiny web backend for the opsdeck lab (stdlib only, threaded).

Usage: backend.py NAME BIND_ADDR PORT HOST_DIR

HOST_DIR is tests/lab/run/hosts/NAME and holds the release layout of a real host:

    app/releases/v40/VERSION      "v40"
    app/releases/v40/config       key=value lines (see below)
    app/current -> releases/v42   the running release; a deploy is `ln -sfn releases/vX current`
    logs/app.log                  one Spring-Boot-style line per request

`current` and the release's files are re-read on EVERY request, so switching the
symlink is the whole deploy: the next request answers with the new version.

Keys in a release's `config` (all optional):
    health=ok|fail    /health answers 200 "ok" or 503 "fail" (default ok)
    health_status=NNN status code of a failing /health (default 503)
    status=NNN        status code of `/` (default 200; the broken release uses 500)
    delay_ms=N        delay before `/` answers, so in-flight requests exist (default 20)

Endpoints: `/` -> "NAME VERSION", `/health` -> "ok" (200) or "fail" (503),
`/version` -> "VERSION", `/metrics` -> Prometheus text (not logged: it is scraped).
"""

import itertools
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME, BIND, PORT, HOST_DIR = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
CURRENT = os.path.join(HOST_DIR, "app", "current")
LOG_PATH = os.path.join(HOST_DIR, "logs", "app.log")
PID = os.getpid()

_log_lock = threading.Lock()
_log_file = open(LOG_PATH, "a", buffering=1, encoding="utf-8")  # line-buffered
_exec_ids = itertools.count()
_thread_names = threading.local()
_counts_lock = threading.Lock()
_counts = {}  # (path, status) -> count


def log(level, thread, logger, message):
    """Write one line in the Spring Boot layout:
    2026-11-22 02:19:07.123  INFO 4242 --- [nio-8080-exec-1] c.e.web.Api : GET / 200 3ms
    """
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    millis = int((now % 1) * 1000)
    # Like Logback's %15.15t, a longer thread name keeps its last 15 characters.
    line = f"{stamp}.{millis:03d} {level:>5} {PID} --- [{thread[-15:]:>15}] {logger} : {message}\n"
    with _log_lock:
        _log_file.write(line)


def exec_thread_name():
    # Tomcat names its worker threads nio-PORT-exec-N from a pool of 10 (by default 200).
    name = getattr(_thread_names, "name", None)
    if name is None:
        name = f"nio-{PORT}-exec-{next(_exec_ids) % 10 + 1}"
        _thread_names.name = name
    return name


def release():
    """Re-read the running release: (version, config dict). Errors become a 'broken' release."""
    try:
        with open(os.path.join(CURRENT, "VERSION"), encoding="utf-8") as f:
            version = f.read().strip()
    except OSError:
        return "unknown", {"health": "fail", "status": "500"}
    config = {}
    try:
        with open(os.path.join(CURRENT, "config"), encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    config[key.strip()] = value.strip()
    except OSError:
        pass
    return version, config


class Handler(BaseHTTPRequestHandler):
    server_version = "lab-backend/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (stdlib name)
        started = time.monotonic()
        version, config = release()
        path = self.path.split("?", 1)[0]
        if path == "/":
            delay = int(config.get("delay_ms", "20"))
            if delay > 0:
                time.sleep(delay / 1000)
            status = int(config.get("status", "200"))
            body = f"{NAME} {version}\n"
        elif path == "/health":
            healthy = config.get("health", "ok") == "ok"
            status = 200 if healthy else int(config.get("health_status", "503"))
            body = "ok\n" if healthy else "fail\n"
        elif path == "/version":
            status, body = 200, f"{version}\n"
        elif path == "/metrics":
            self.reply(200, self.metrics(version, config), "text/plain; version=0.0.4")
            return
        else:
            status, body = 404, "not found\n"
        self.reply(status, body, "text/plain; charset=utf-8")
        with _counts_lock:
            _counts[(path if status != 404 else "other", status)] = (
                _counts.get((path if status != 404 else "other", status), 0) + 1
            )
        took = int((time.monotonic() - started) * 1000)
        if path in ("/health", "/version") and status == 200:
            return  # probes that pass are noise, as most apps configure their logging
        level = "INFO" if status < 400 else ("WARN" if status < 500 or status == 503 else "ERROR")
        log(level, exec_thread_name(), "c.e.web.Api", f"GET {path} {status} {took}ms")

    def reply(self, status, body, content_type):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Backend", NAME)
        self.end_headers()
        self.wfile.write(data)

    def metrics(self, version, config):
        healthy = 1 if config.get("health", "ok") == "ok" else 0
        lines = [
            "# TYPE app_info gauge",
            f'app_info{{host="{NAME}",version="{version}"}} 1',
            "# TYPE app_healthy gauge",
            f"app_healthy {healthy}",
            "# TYPE app_requests_total counter",
        ]
        with _counts_lock:
            for (path, status), n in sorted(_counts.items()):
                lines.append(f'app_requests_total{{path="{path}",status="{status}"}} {n}')
        return "\n".join(lines) + "\n"

    def log_message(self, format, *args):  # noqa: A002 - silence stderr access logging
        pass


def main():
    server = ThreadingHTTPServer((BIND, PORT), Handler)
    server.daemon_threads = True
    # TERM (down.sh) ends serve_forever through SystemExit, so 'Stopped' is logged.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    version, _ = release()
    log("INFO", "main", "c.e.web.Application", f"Started Application on {BIND}:{PORT} (version {version}, pid {PID})")
    try:
        server.serve_forever()
    finally:
        log("INFO", "main", "c.e.web.Application", "Stopped")


if __name__ == "__main__":
    main()
