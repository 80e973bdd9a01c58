#!/usr/bin/env bash
# One table of opsdeck's speed and memory figures: whole-process figures measured in a
# real pseudo-terminal (scripts/pty_probe.py, 200x50, TERM=xterm-256color, demo fleet),
# then the criterion benches (cargo bench --bench logs). Medians of BENCH_RUNS runs.
#
#   scripts/bench.sh                  build target/release/opsdeck (with the AWS SDK) and measure
#   BENCH_NO_SDK=1 scripts/bench.sh   build without the AWS SDK (--no-default-features; faster)
#   BENCH_RUNS=5                      runs per whole-process figure (default 5)
#   BENCH_WINDOW=30                   seconds of each RSS/CPU window (default 30)
#   BENCH_IDLE=60                     seconds of the idle window (default 60)
#   BENCH_SKIP_CRITERION=1            only the whole-process figures
#
# Needs python3 (standard library only). Starts only its own opsdeck processes (each one
# is sent `q`, and killed by its PID if it has not exited 5 s later).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${BENCH_RUNS:-5}
WINDOW=${BENCH_WINDOW:-30}
IDLE=${BENCH_IDLE:-60}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FEATURES=()
BUILD="release, with the AWS SDK"
if [ "${BENCH_NO_SDK:-0}" = 1 ]; then
  FEATURES=(--no-default-features)
  BUILD="release, without the AWS SDK"
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

log() { printf '%s [bench] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

log "cargo build --release ${FEATURES[*]:-}"
cargo build --release --quiet "${FEATURES[@]}"
BIN=$TARGET/release/opsdeck
PROBE=(python3 "$ROOT/scripts/pty_probe.py")

strip -o "$OUT/opsdeck.stripped" "$BIN"
stat -c '{"figure":"binary","bytes":%s}' "$OUT/opsdeck.stripped" >>"$OUT/results.jsonl"

for i in $(seq "$RUNS"); do
  log "first frame, calm ($i/$RUNS)"
  "${PROBE[@]}" first-frame "$BIN" --demo --scenario calm |
    sed 's/^{/{"figure":"ff_calm",/' >>"$OUT/results.jsonl"
  log "first frame, 50,000 lines/s ($i/$RUNS)"
  "${PROBE[@]}" first-frame "$BIN" --demo --log-rate 50000 |
    sed 's/^{/{"figure":"ff_50k",/' >>"$OUT/results.jsonl"
  log "status --json ($i/$RUNS)"
  python3 - "$BIN" >>"$OUT/results.jsonl" <<'EOF'
import json, subprocess, sys, time, tempfile, os
env = dict(os.environ, XDG_CONFIG_HOME=tempfile.mkdtemp(), XDG_STATE_HOME=tempfile.mkdtemp())
t = time.monotonic()
subprocess.run([sys.argv[1], "status", "--json", "--demo"], check=True, stdout=subprocess.DEVNULL, env=env)
print(json.dumps({"figure": "status_json", "ms": round((time.monotonic() - t) * 1000, 1)}))
EOF
done
for i in $(seq "$RUNS"); do
  log "steady window, 50,000 lines/s, ${WINDOW}s ($i/$RUNS)"
  "${PROBE[@]}" steady "$WINDOW" "$BIN" --demo --log-rate 50000 |
    sed 's/^{/{"figure":"steady_50k",/' >>"$OUT/results.jsonl"
  log "steady window, default rate, ${WINDOW}s ($i/$RUNS)"
  "${PROBE[@]}" steady "$WINDOW" "$BIN" --demo |
    sed 's/^{/{"figure":"steady_default",/' >>"$OUT/results.jsonl"
done
log "idle window, calm, ${IDLE}s"
"${PROBE[@]}" idle "$IDLE" "$BIN" --demo --scenario calm |
  sed 's/^{/{"figure":"idle_calm",/' >>"$OUT/results.jsonl"

if [ "${BENCH_SKIP_CRITERION:-0}" != 1 ]; then
  log "cargo bench --bench logs"
  cargo bench --quiet "${FEATURES[@]}" --bench logs -- --noplot 2>/dev/null | tee "$OUT/criterion.txt" >&2
fi
touch "$OUT/criterion.txt"

python3 - "$OUT/results.jsonl" "$OUT/criterion.txt" "$BUILD" "$RUNS" "$WINDOW" "$IDLE" <<'EOF'
import json, re, statistics, sys, platform, os
path, crit, build, runs, window, idle = sys.argv[1:]
rows = [json.loads(l) for l in open(path) if l.strip()]
def pick(fig, key):
    vals = [r[key] for r in rows if r["figure"] == fig and r.get(key) is not None]
    return statistics.median(vals) if vals else None
def fmt(v, unit, nd=1):
    return "n/a" if v is None else f"{v:,.{nd}f} {unit}".strip()
table = [
    ("time to the first frame, --demo --scenario calm", fmt(pick("ff_calm", "first_frame_ms"), "ms"), "≤ 50 ms"),
    ("  … to the fleet's data on screen", fmt(pick("ff_calm", "data_ms"), "ms"), ""),
    ("time to the first frame, --demo --log-rate 50000", fmt(pick("ff_50k", "first_frame_ms"), "ms"), "≤ 50 ms"),
    ("  … to the fleet's data on screen", fmt(pick("ff_50k", "data_ms"), "ms"), ""),
    (f"RSS, 50,000 lines/s, after {window}+5 s", fmt(pick("steady_50k", "rss_mib"), "MiB"), "≤ 30 MB"),
    ("  peak RSS", fmt(pick("steady_50k", "peak_rss_mib"), "MiB"), ""),
    (f"CPU while 50,000 lines/s flow ({window} s)", fmt(pick("steady_50k", "cpu_percent"), "%", 2), "≤ 5 %"),
    ("RSS, default log rate", fmt(pick("steady_default", "rss_mib"), "MiB"), "≤ 20 MB"),
    (f"CPU, default log rate ({window} s)", fmt(pick("steady_default", "cpu_percent"), "%", 2), ""),
    (f"calm demo over {idle} s: terminal writes", fmt(pick("idle_calm", "terminal_writes"), "", 0), "0 when still"),
    (f"calm demo over {idle} s: bytes to the terminal", fmt(pick("idle_calm", "terminal_bytes"), "B", 0), ""),
    (f"calm demo over {idle} s: CPU", fmt(pick("idle_calm", "cpu_percent"), "%", 2), "≤ 0.2 %"),
    ("status --json, demo fleet", fmt(pick("status_json", "ms"), "ms"), ""),
    (f"stripped release binary ({build})", fmt((pick("binary", "bytes") or 0) / 1e6, "MB"), "≤ 25 MB with the SDK"),
]
text = open(crit).read()
name = None
for line in text.splitlines():
    if not line.strip():
        continue
    if "time:" in line:
        head = line.split("time:")[0].strip()
        name = head or name
        m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if m and name:
            goal = ""
            if "store" in name and "50k" in name:
                goal = "≥ 1 M lines/s (50k in ≤ 50 ms)"
            elif "filter 100k" in name:
                goal = "≤ 10 ms"
            elif "draw 200x50" in name:
                goal = "≤ 1 ms"
            table.append((f"criterion: {name}", f"{m.group(1)} {m.group(2)}", goal))
        name = None
    elif not line[0].isspace() and not line.startswith(("Found", "Benchmarking", "Warning", "Gnuplot")):
        name = line.strip()
w = max(len(r[0]) for r in table)
print()
print(f"opsdeck bench · {build} · {platform.machine()} · {os.cpu_count()} cores · medians of {runs} runs (criterion: its median)")
print(f"| {'figure'.ljust(w)} | {'measured':>14} | goal |")
print(f"|{'-' * (w + 2)}|{'-' * 16}|------|")
for fig, val, goal in table:
    print(f"| {fig.ljust(w)} | {val:>14} | {goal} |")
EOF
