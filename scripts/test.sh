#!/usr/bin/env bash
# The one test command of laputa, as CI runs it: formatting, lints, docs, then every test
# (unit, integration, Autobahn conformance and Python interop).
#
# Needs Rust (cargo, rustfmt, clippy) and Python 3 with venv; it installs the Python peers
# (tests/python/requirements.txt) into .venv at the repository root, and the Debian packages the
# tests drive (squid, chromium, curl, redis-server, haproxy: apt-get, through sudo unless root)
# when they are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

START=$SECONDS

# Prints a step, runs it, and prints how long it took.
step() {
    local begin=$SECONDS
    printf '\n==> %s\n' "$*"
    "$@"
    printf '<== %s: %ds\n' "$1" $((SECONDS - begin))
}

# The Python peers: kosoku (Autobahn TestSuite) and websockets. Idempotent.
setup_venv() {
    [[ -x .venv/bin/python ]] || python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
}

# --- Optional system packages --------------------------------------------------------------
# Installs the Debian packages given (e.g. squid, chromium) that are not installed yet. Call it
# below only once a test needs them.
apt_install_optional() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
# squid: the proxy of adapters/tests/client_connect.rs (Basic, Digest, tunnels to ws:// and wss://).
step apt_install_optional squid
# chromium: headless, driven over the DevTools protocol by tests/src/browser.rs (the chat page).
step apt_install_optional chromium
# curl: the HTTP client of tests/tests/http_conformance.rs (the server's plain HTTP).
step apt_install_optional curl
# redis-server and haproxy: the backplane and the load balancer of tests/tests/cluster.rs.
step apt_install_optional redis-server haproxy
# --------------------------------------------------------------------------------------------

step setup_venv
step cargo fmt --all -- --check
# The adapters crate builds with each runtime feature alone, and with none but the core.
check_features() {
    local features
    for features in "" blocking tokio smol async-std hyper redis \
        rustls blocking,rustls tokio,rustls smol,rustls async-std,rustls; do
        echo "    laputa with features [${features}]"
        cargo check --quiet -p laputa --no-default-features ${features:+--features "$features"}
    done
}
step check_features
step cargo clippy --workspace --all-targets --all-features -- -D warnings
# The fuzz targets are a package of their own, outside the workspace.
fuzz_lints() { (cd fuzz && cargo fmt -- --check && cargo clippy --all-targets -- -D warnings); }
step fuzz_lints
step env RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features
# The integration tests run the release examples; build them here, in view, so the tests'
# own `cargo build` (tests/src/lib.rs, example_bin) finds nothing left to do.
step cargo build --release -p laputa-examples --all-features
# ... and the load generator of tests/tests/load.rs (10,000 connections, churn), and the io_uring
# echo server of the benchmark, which the Autobahn and load tests drive too.
step cargo build --release -p laputa-bench --bin loadgen --bin echo-laputa-uring
step cargo test --workspace --all-features --no-fail-fast
# The adapters' doc examples without the default `blocking` feature: each is gated on the
# feature its item needs, and this catches one that leans on `blocking` unawares.
step cargo test --doc -p laputa --no-default-features --features tokio,smol,async-std,hyper
# Every fuzz target: its seeds replayed, then a short bounded run (scripts/fuzz.sh says how to
# run them longer).
step ./scripts/fuzz.sh 15

printf '\nAll checks passed in %ds.\n' $((SECONDS - START))
