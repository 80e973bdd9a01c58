#!/usr/bin/env python3
"""moto's request recorder, from the command line.

    tests/aws/recorder.py reset      erase the recording (POST /moto-api/recorder/reset-recording)
    tests/aws/recorder.py start      record from now on (on already when moto.sh started moto)
    tests/aws/recorder.py stop       stop recording
    tests/aws/recorder.py dump [--annotate]
                                     print the recording, one JSON object per line
                                     (--annotate: add "service" and "action" to each)
    tests/aws/recorder.py summary [--json]
                                     count requests per (service, action)

Server: $MOTO_URL (default http://127.0.0.1:5000). Standard library only, so any
python3 runs it. The line format is described in tests/aws/README.md.

service: the SigV4 credential scope of the Authorization header
    (Credential=AKID/20261202/ap-northeast-2/<service>/aws4_request);
    "moto-api" for moto's own unsigned /moto-api/... requests; "-" if neither.
action:  Action= of the form body (query protocols: EC2, ELBv2, RDS, ElastiCache,
    CloudWatch awsQuery) or of the URL's query string; else the operation of the
    X-Amz-Target header (JSON protocols: Logs "Logs_20140328.FilterLogEvents", boto3's
    CloudWatch "GraniteServiceVersion20100801.GetMetricData"); else the operation of a
    Smithy RPC v2 CBOR path (/service/<svc>/operation/<op>, which moto 5.2.5 answers
    404); else the URL path for moto-api requests; else "-".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import parse_qs, urlsplit

CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
CBOR_PATH = re.compile(r"/service/[^/]+/operation/([^/?]+)")


def url() -> str:
    return os.environ.get("MOTO_URL", "http://127.0.0.1:5000").rstrip("/")


def call(path: str, method: str = "GET") -> bytes:
    req = urllib.request.Request(url() + path, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()
    except (urllib.error.URLError, OSError) as e:
        sys.exit(f"recorder: moto does not answer at {url()} ({e}); start it: tests/aws/moto.sh up")


def header(headers: dict, name: str) -> str:
    name = name.lower()
    return next((v for k, v in headers.items() if k.lower() == name), "")


def body_bytes(entry: dict) -> bytes:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8", "replace") if isinstance(body, str) else b""


def classify(entry: dict) -> tuple[str, str]:
    """(service, action) of one recorded request."""
    headers = entry.get("headers") or {}
    parts = urlsplit(entry.get("url", ""))
    m = CREDENTIAL.search(header(headers, "Authorization"))
    if m:
        service = m.group(1)
    elif parts.path.startswith("/moto-api"):
        service = "moto-api"
    else:
        service = "-"
    ctype = header(headers, "Content-Type")
    if "x-www-form-urlencoded" in ctype:
        form = parse_qs(body_bytes(entry).decode("utf-8", "replace"))
        if form.get("Action"):
            return service, form["Action"][0]
    query = parse_qs(parts.query)
    if query.get("Action"):
        return service, query["Action"][0]
    target = header(headers, "X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    m = CBOR_PATH.search(parts.path)
    if m:
        return service, m.group(1)
    if service == "moto-api":
        return service, parts.path
    return service, "-"


def entries() -> list[dict]:
    out = []
    for n, line in enumerate(call("/moto-api/recorder/download-recording").decode().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"recorder: line {n} of the recording is not JSON: {e}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("reset")
    sub.add_parser("start")
    sub.add_parser("stop")
    d = sub.add_parser("dump")
    d.add_argument("--annotate", action="store_true")
    s = sub.add_parser("summary")
    s.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.cmd in ("reset", "start", "stop"):
        call(f"/moto-api/recorder/{args.cmd}-recording", "POST")
        print(f"recorder: {args.cmd} ({url()})")
    elif args.cmd == "dump":
        for e in entries():
            if args.annotate:
                e = dict(e)
                e["service"], e["action"] = classify(e)
            print(json.dumps(e))
    else:
        counts = Counter(classify(e) for e in entries())
        rows = sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1]))
        if args.json:
            print(json.dumps([{"service": s, "action": a, "count": c} for (s, a), c in rows]))
        else:
            for (service, action), c in rows:
                print(f"{c:6d}  {service:<14} {action}")
            print(f"{sum(counts.values()):6d}  total")


if __name__ == "__main__":
    main()
