#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each, starting from the committed corpus
# (fuzz/corpus/<target>), and exits non-zero if any target crashes, leaks, times out or fails
# to build. Prints, per target, libFuzzer's execution count and final coverage (`cov:`).
#
#   fuzz/run.sh 60                    every target, 60 s each
#   fuzz/run.sh 1800 keyring decrypt  only these targets
#
# Works from any directory and without a terminal (CI=true). Needs only a stable toolchain:
# RUSTC_BOOTSTRAP=1 lets stable rustc take the nightly flags cargo-fuzz passes. Builds go to
# fuzz/target (never the workspace's target/). New inputs found during the run go to a
# temporary directory, so the committed corpus is not touched; crashes are saved by cargo-fuzz
# under fuzz/artifacts/<target>/. Reproducers kept in fuzz/regressions/<target>/ are run too.
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ || $1 -eq 0 ]]; then
    echo "usage: $0 SECONDS [TARGET...]   (fuzz each target, or those named, for SECONDS seconds)" >&2
    exit 2
fi
seconds=$1
shift
only=("$@")

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir/.." # cargo fuzz looks for ./fuzz

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not found; installing it (cargo install cargo-fuzz --locked)" >&2
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
unset CARGO_TARGET_DIR
target_dir="$fuzz_dir/target"

# Build everything first so that a compile error fails here, not halfway through.
cargo fuzz build --target-dir "$target_dir"

mapfile -t targets < <(cargo fuzz list)
if [[ ${#only[@]} -gt 0 ]]; then
    for t in "${only[@]}"; do
        if ! printf '%s\n' "${targets[@]}" | grep -qx "$t"; then
            echo "no fuzz target $t (cargo fuzz list)" >&2
            exit 2
        fi
    done
    targets=("${only[@]}")
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "no fuzz targets found" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sframe-fuzz.XXXXXX")
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$fuzz_dir/corpus/$t"
    log="$work/$t.log"
    echo "== $t: fuzzing for ${seconds}s (log: $log)" >&2
    # New inputs go to the first directory; the others are only read. Saved crash reproducers
    # (fuzz/regressions/<target>/) run first thing, as part of the initial corpus.
    dirs=("$work/$t" "$fuzz_dir/corpus/$t")
    if [[ -d $fuzz_dir/regressions/$t ]]; then
        dirs+=("$fuzz_dir/regressions/$t")
    fi
    rc=0
    cargo fuzz run --target-dir "$target_dir" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?

    # Executions: libFuzzer's final count if it finished, else the last status line's "#N".
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [[ -z $execs ]]; then
        execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
    fi
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    if [[ $rc -eq 0 ]]; then
        result=ok
    else
        result="FAILED (exit $rc)"
        failed+=("$t")
        echo "---- $t failed; end of its log:" >&2
        tail -n 60 "$log" >&2
        echo "---- $t: the panic and the saved input:" >&2
        grep -A3 -E 'panicked at' "$log" | head -n 8 >&2 || true
        grep -E 'Test unit written to' "$log" >&2 || true
    fi
    summary+=("$(printf '%-12s %-16s execs: %-10s cov: %-6s ft: %s' \
        "$t" "$result" "${execs:-?}" "${cov:-?}" "${ft:-?}")")
done

echo
echo "fuzz summary (${seconds}s per target; new inputs in $work):"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "FAILED: ${failed[*]} (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>)"
    exit 1
fi
