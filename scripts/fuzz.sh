#!/usr/bin/env bash
# Runs every cargo-fuzz target of laputa (fuzz/fuzz_targets/*.rs) on the stable toolchain:
# first a replay of its committed seeds (fuzz/seeds/<target>/), then SECONDS of fuzzing.
# Exits non-zero as soon as a target crashes; the input is in fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   fuzzing time per target (default 20; 0 replays the seeds only)
#   TARGET    the targets to run (default: all of them, the [[bin]] names of fuzz/Cargo.toml,
#             which `cargo fuzz list` must name too; a file of fuzz_targets/ missing there fails)
#
# Longer runs, for example before a release or overnight (one target per core; this machine has
# two, so at most two at once):
#   scripts/fuzz.sh 3600                      # an hour per target, one after the other
#   scripts/fuzz.sh 28800 ops                 # eight hours of one target
#   FUZZ_ARGS='-jobs=2 -workers=2' scripts/fuzz.sh 3600 connection
# The corpus each run grows is kept in fuzz/corpus/<target>/ (ignored by git) and reused by the
# next run; copy inputs worth keeping (small ones that reach new code) into fuzz/seeds/<target>/.
# To replay one crash: cd fuzz && cargo fuzz run --sanitizer none TARGET artifacts/TARGET/crash-...
#
# Needs cargo; installs cargo-fuzz (`cargo install cargo-fuzz --locked`) if it is missing. Runs
# without AddressSanitizer (`--sanitizer none`, no nightly flag needed): the core has no unsafe
# code, so panics, overflows (cargo fuzz keeps debug assertions on) and timeouts are what there is
# to find.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

SECONDS_PER_TARGET=${1:-20}
shift || true
if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# A field (name or path) of every [[bin]] table of Cargo.toml, one a line.
bin_field() {
    awk -v field="$1" '
        /^\[\[bin\]\]/ { in_bin = 1; next }
        /^\[/ { in_bin = 0 }
        in_bin && match($0, "^" field " *= *\"[^\"]+\"") {
            value = substr($0, RSTART, RLENGTH)
            sub("^" field " *= *\"", "", value)
            sub("\"$", "", value)
            print value
        }' Cargo.toml
}

# The targets: what Cargo.toml declares, checked against cargo fuzz's own list and the files,
# so that an empty or failed list cannot pass for "all of them".
mapfile -t declared < <(bin_field name)
if ((${#declared[@]} == 0)); then
    echo "fuzz/Cargo.toml declares no [[bin]] fuzz target" >&2
    exit 1
fi
listed=$(cargo fuzz list)
if [[ $(printf '%s\n' "${declared[@]}" | sort) != "$(sort <<<"$listed")" ]]; then
    printf 'cargo fuzz list gives:\n%s\nbut fuzz/Cargo.toml declares:\n%s\n' "$listed" "$(printf '  %s\n' "${declared[@]}")" >&2
    exit 1
fi
for file in fuzz_targets/*.rs; do
    if ! bin_field path | grep -qxF "$file"; then
        echo "$file is no [[bin]] of fuzz/Cargo.toml: it would never run" >&2
        exit 1
    fi
done
if (($# > 0)); then
    targets=("$@")
else
    targets=("${declared[@]}")
fi

# One flag set for every cargo fuzz call, so that cargo reuses its build.
FUZZ=(cargo fuzz run --sanitizer none)
# Common libFuzzer options: no leak checking (no sanitizer), a per-input time limit that flags
# pathological work, and a memory limit that flags runaway allocation.
LIBFUZZER=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

cargo fuzz build --sanitizer none

for target in "${targets[@]}"; do
    seeds=seeds/$target
    corpus=corpus/$target
    mkdir -p "$seeds" "$corpus"
    printf '\n==> %s: replaying %d seeds\n' "$target" "$(find "$seeds" -type f | wc -l)"
    "${FUZZ[@]}" "$target" "$seeds" -- -runs=0 "${LIBFUZZER[@]}"
    if ((SECONDS_PER_TARGET > 0)); then
        printf '\n==> %s: fuzzing for %ds\n' "$target" "$SECONDS_PER_TARGET"
        # New inputs go to the first directory (the corpus); the seeds are read too.
        # shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
        "${FUZZ[@]}" "$target" "$corpus" "$seeds" -- -max_total_time="$SECONDS_PER_TARGET" \
            "${LIBFUZZER[@]}" ${FUZZ_ARGS:-}
    fi
done
printf '\nAll %d fuzz targets ran without a crash.\n' "${#targets[@]}"
