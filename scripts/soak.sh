#!/usr/bin/env bash
# Soak test: connect/echo/close churn against the echo_server example for SECONDS (default 600),
# reporting the server's resident memory (VmRSS) and open descriptors (/proc/PID/fd) at the
# start, every INTERVAL seconds, and at the end. Exits non-zero if the churn saw an error (a wrong
# echo, an unexpected close, a stall) or if the server holds more descriptors once the churn has
# stopped than before it started (a leak).
#
#   scripts/soak.sh [SECONDS]
#
# Environment: RUNTIME (tokio, smol, async-std or blocking; default tokio), CONCURRENCY
# (connections in flight, default 16), INTERVAL (seconds between reports, default 30),
# SLACK (descriptors tolerated above the start, default 0), DEFLATE=1 (the server accepts
# permessage-deflate; loadgen does not offer it).
#
# The churn is `loadgen churn` (bench/src/bin/loadgen.rs): each connection is opened, echoes 4
# checked messages, and ends with the close handshake, a reset, a FIN without a close frame, a
# reset mid-frame or a reset mid-handshake, in turn.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_TO_RUN=${1:-600}
RUNTIME=${RUNTIME:-tokio}
CONCURRENCY=${CONCURRENCY:-16}
INTERVAL=${INTERVAL:-30}
SLACK=${SLACK:-0}

cargo build --quiet --release -p laputa-examples --all-features --bin echo_server
cargo build --quiet --release -p laputa-bench --bin loadgen
TARGET=${CARGO_TARGET_DIR:-target}

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
LOG=$(mktemp -d)
extra=()
[[ ${DEFLATE:-0} == 1 ]] && extra+=(--deflate)
"$TARGET/release/echo_server" --addr "$ADDR" --runtime "$RUNTIME" "${extra[@]}" >"$LOG/server.log" 2>&1 &
SERVER=$!
LOADGEN=
cleanup() {
    [[ -n $LOADGEN ]] && kill "$LOADGEN" 2>/dev/null || true
    kill "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 300); do
    grep -q listening "$LOG/server.log" 2>/dev/null && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG/server.log"; exit 1; }
    sleep 0.1
done
grep -q listening "$LOG/server.log" || { echo "echo_server does not listen"; exit 1; }

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status"; }
fds() { ls "/proc/$SERVER/fd" | wc -l; }
report() { printf '%-7s t=%4ds  rss=%6s KiB  fds=%s\n' "$1" $((SECONDS - START)) "$(rss)" "$(fds)"; }

START=$SECONDS
FDS_START=$(fds)
RSS_START=$(rss)
echo "soak: echo_server --runtime $RUNTIME on $ADDR, $CONCURRENCY connections in flight, ${SECONDS_TO_RUN}s"
report start

"$TARGET/release/loadgen" churn --addr "$ADDR" --duration "$SECONDS_TO_RUN" --concurrency "$CONCURRENCY" \
    >"$LOG/loadgen.log" 2>&1 &
LOADGEN=$!
while kill -0 "$LOADGEN" 2>/dev/null; do
    for _ in $(seq "$INTERVAL"); do
        sleep 1
        kill -0 "$LOADGEN" 2>/dev/null || break
    done
    kill -0 "$LOADGEN" 2>/dev/null && report during
done
status=0
wait "$LOADGEN" || status=$?
LOADGEN=
cat "$LOG/loadgen.log"

# The churn has stopped and every client connection has ended: give the server a moment to
# see the last ones end, then compare.
for _ in $(seq 50); do
    (($(fds) <= FDS_START + SLACK)) && break
    sleep 0.1
done
report end
FDS_END=$(fds)
RSS_END=$(rss)
echo "soak: descriptors $FDS_START -> $FDS_END, resident memory $RSS_START KiB -> $RSS_END KiB"

if ((status != 0)); then
    echo "soak: FAILED: loadgen exited with $status (errors above)"
    exit 1
fi
if ((FDS_END > FDS_START + SLACK)); then
    echo "soak: FAILED: $((FDS_END - FDS_START)) descriptors leaked"
    ls -l "/proc/$SERVER/fd" | tail -20
    exit 1
fi
echo "soak: OK"
