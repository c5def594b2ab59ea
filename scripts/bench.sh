#!/usr/bin/env bash
# The performance benchmark of laputa against its peers (issue 5; BENCHMARKS.md explains every
# figure). Builds `laputa-bench` in release mode, then runs, each server pinned to CPU 0 and the
# load generator to CPU 1:
#   1. the echo matrix (closed loop and pipelined, servers alternated within each cell),
#   2. idle memory per connection (10,000 idle connections, client in its own process),
#   3. connection setup (handshakes/s),
#   4. allocations per echoed message (counting allocator, a separate short run),
#   5. masking and UTF-8 validation throughput of the core (core-speed),
# and prints the tables. Raw results go to $OUT (default target/bench/results-<date>.txt);
# `target/release/bench-run table --from FILE` prints the tables of a raw file again.
#
# Usage: scripts/bench.sh [quick|full|broadcast|tls]    (default: full; quick is a smoke run of a few minutes)
# Environment: SERVERS, CONNS, SIZES, MODES, REPS, WARMUP, DURATION, IDLE, OUT override the matrix.
# DEFLATE=1 runs the permessage-deflate column instead: the servers that support it (every laputa
# one and yawc) and the load generator with --deflate (compressed JSON-like text messages), sizes
# 1 KiB to 64 KiB by default; steps 1 to 4 as above, no core-speed. Its results go to their own file.
#
# `broadcast` runs the broadcast benchmark instead (issue 19; BENCHMARKS.md, "Broadcast"): the
# broadcast-* servers under `loadgen broadcast` at 1,000 and 10,000 subscribers, without and with
# permessage-deflate (no server context takeover), then idle memory per session of the broadcast
# servers (about 10 min on 2 cores). Environment: SUBS, SIZES, WINDOWS, REPS, WARMUP, DURATION,
# IDLE, OUT; BROADCAST_SERVERS and BROADCAST_DEFLATE_SERVERS override the servers.
#
# `tls` runs the wss echo column instead (issue 19; BENCHMARKS.md, "wss echo"): laputa::tokio over
# laputa::tls::TlsAcceptor against tokio-tungstenite over tokio-rustls (rustls and ring for both,
# and for the load generator), 1 KiB and 64 KiB at 1, 10 and 100 connections, closed loop and
# pipelined, with a certificate made at run time; then allocations per message (about 8 min on
# 2 cores). Environment: TLS_SERVERS, CONNS, SIZES, MODES, REPS, WARMUP, DURATION, OUT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROFILE=${1:-full}
if [[ $PROFILE == tls ]]; then
    if [[ $(nproc) -lt 2 ]]; then
        echo "needs 2 CPUs (server and load generator each pinned to one)" >&2
        exit 1
    fi
    : "${TLS_SERVERS:=laputa-tls,tungstenite-tls}" "${CONNS:=1,10,100}" "${SIZES:=1024,65536}"
    : "${MODES:=closed,pipelined}" "${REPS:=3}" "${WARMUP:=0.5}" "${DURATION:=2}"
    OUT=${OUT:-target/bench/results-$(date +%Y%m%d-%H%M%S)-tls.txt}
    ALLOC_OUT="${OUT%.txt}-allocs.txt"
    mkdir -p "$(dirname "$OUT")"
    cargo build --release -p laputa-bench
    RUN=target/release/bench-run
    echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT.log"
    "$RUN" echo --tls --servers "$TLS_SERVERS" --out "$OUT" --server-cpu 0 --client-cpu 1 --conns "$CONNS" \
        --sizes "$SIZES" --modes "$MODES" --reps "$REPS" --warmup "$WARMUP" --duration "$DURATION" 2>>"$OUT.log" >/dev/null
    "$RUN" echo --tls --servers "$TLS_SERVERS" --out "$ALLOC_OUT" --count-allocs --conns 10 --sizes "$SIZES" \
        --modes "$MODES" --reps 1 --warmup 0.3 --duration 1 2>>"$OUT.log" >/dev/null
    "$RUN" table --from "$OUT"
    echo
    echo "## Allocations per echoed message (counting allocator on, 10 connections; its timings are not the figures above)"
    "$RUN" table --from "$ALLOC_OUT"
    echo
    echo "raw results: $OUT and $ALLOC_OUT; log: $OUT.log"
    exit 0
fi
if [[ $PROFILE == broadcast ]]; then
    if [[ $(nproc) -lt 2 ]]; then
        echo "needs 2 CPUs (server and load generator each pinned to one)" >&2
        exit 1
    fi
    : "${SUBS:=1000,10000}" "${SIZES:=1024}" "${WINDOWS:=8}" "${REPS:=3}" "${WARMUP:=1}" "${DURATION:=3}" "${IDLE:=10000}"
    : "${BROADCAST_SERVERS:=laputa,tungstenite}" "${BROADCAST_DEFLATE_SERVERS:=laputa,laputa-per-session,yawc}"
    OUT=${OUT:-target/bench/results-$(date +%Y%m%d-%H%M%S)-broadcast.txt}
    mkdir -p "$(dirname "$OUT")"
    cargo build --release -p laputa-bench
    RUN=target/release/bench-run
    common=(--out "$OUT" --server-cpu 0 --client-cpu 1)
    matrix=(--subs "$SUBS" --sizes "$SIZES" --windows "$WINDOWS" --reps "$REPS" --warmup "$WARMUP" --duration "$DURATION")
    echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT.log"
    "$RUN" broadcast "${common[@]}" --servers "$BROADCAST_SERVERS" "${matrix[@]}" 2>>"$OUT.log" >/dev/null
    "$RUN" broadcast "${common[@]}" --deflate --servers "$BROADCAST_DEFLATE_SERVERS" "${matrix[@]}" 2>>"$OUT.log" >/dev/null
    "$RUN" memory "${common[@]}" --broadcast --servers "$BROADCAST_SERVERS" --idle "$IDLE" 2>>"$OUT.log" >/dev/null
    "$RUN" table --from "$OUT"
    echo
    echo "raw results: $OUT; log: $OUT.log"
    exit 0
fi
DEFLATE=${DEFLATE:-}
if [[ -n $DEFLATE ]]; then
    # 20 B is left out: under the 64-byte threshold of both servers, echoes go uncompressed.
    if [[ $PROFILE == quick ]]; then : "${SIZES:=1024,16384}"; else : "${SIZES:=1024,16384,65536}"; fi
    : "${SERVERS:=laputa,laputa-smol,laputa-async-std,laputa-core,yawc}"
    ALLOC_SIZES=$SIZES
else
    ALLOC_SIZES=20,1024,16384,65536,1048576
fi
if [[ $PROFILE == quick ]]; then
    : "${CONNS:=10,100}" "${SIZES:=20,16384}" "${REPS:=1}" "${WARMUP:=0.3}" "${DURATION:=1}" "${IDLE:=2000}"
else
    : "${CONNS:=1,10,100,500}" "${SIZES:=20,1024,16384,65536,1048576}" "${REPS:=3}" "${WARMUP:=0.5}"
    : "${DURATION:=2}" "${IDLE:=10000}"
fi
: "${SERVERS:=laputa,laputa-smol,laputa-async-std,laputa-core,tungstenite,fastwebsockets,tokio-websockets}"
: "${MODES:=closed,pipelined}"
OUT=${OUT:-target/bench/results-$(date +%Y%m%d-%H%M%S)${DEFLATE:+-deflate}.txt}
mkdir -p "$(dirname "$OUT")"

if [[ $(nproc) -lt 2 ]]; then
    echo "needs 2 CPUs (server and load generator each pinned to one)" >&2
    exit 1
fi

cargo build --release -p laputa-bench
RUN=target/release/bench-run
common=(--servers "$SERVERS" --out "$OUT" --server-cpu 0 --client-cpu 1)
deflate=()
if [[ -n $DEFLATE ]]; then
    deflate=(--deflate)
fi

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT.log"
"$RUN" echo "${common[@]}" "${deflate[@]}" --conns "$CONNS" --sizes "$SIZES" --modes "$MODES" --reps "$REPS" \
    --warmup "$WARMUP" --duration "$DURATION" 2>>"$OUT.log" >/dev/null
"$RUN" memory "${common[@]}" "${deflate[@]}" --idle "$IDLE" 2>>"$OUT.log" >/dev/null
"$RUN" handshake "${common[@]}" "${deflate[@]}" --reps "$REPS" --duration "$DURATION" 2>>"$OUT.log" >/dev/null
# Allocations per echoed message: the same servers with the counting allocator switched on, a
# short closed-loop and pipelined run (counting costs a little, so it is kept out of the timings).
ALLOC_OUT="${OUT%.txt}-allocs.txt"
"$RUN" echo --servers "$SERVERS" "${deflate[@]}" --out "$ALLOC_OUT" --count-allocs --conns 10 --sizes "$ALLOC_SIZES" \
    --reps 1 --warmup 0.3 --duration 1 2>>"$OUT.log" >/dev/null

"$RUN" table --from "$OUT"
echo
if [[ -z $DEFLATE ]]; then
    echo "## Core throughput (one core)"
    taskset -c 1 target/release/core-speed --secs 1
    echo
fi
echo "## Allocations per echoed message (counting allocator on, 10 connections; its timings are not the figures above)"
"$RUN" table --from "$ALLOC_OUT"
echo
echo "raw results: $OUT and $ALLOC_OUT; log: $OUT.log"
