#!/bin/sh
# CI's fuzz check: builds the five targets, then runs each for SECONDS (default 30) from the seeds in
# fuzz/seeds/<target>/, copied into a scratch corpus so that nothing lands in the repository. Any finding (a
# trap, an ASan report, a timeout, running out of memory) fails the script, which names the input that did it.
# Usage: fuzz/smoke.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-30}
fuzz/build.sh 2>&1 | grep -v 'ld.gold: warning: Cannot export local symbol' >&2 || true
scratch=$(mktemp -d /tmp/hmp-fuzz-smoke.XXXXXX)
status=0
for target in stream-loader-fuzz stream-loader-large-fuzz line-parser-fuzz number-parser-fuzz qmp-framing-fuzz; do
    [ -x "fuzz/$target" ] || { echo "$target: not built" >&2; status=1; continue; }
    # The large loader's seeds are whole streams of a 4 MiB guest (one with a 1 MiB block chunk): up to 1.25 MiB.
    case $target in stream-loader-fuzz) max_len=8192 ;; stream-loader-large-fuzz) max_len=1310720 ;; *) max_len=4096 ;; esac
    corpus=$scratch/$target/corpus
    artifacts=$scratch/$target/artifacts
    log=$scratch/$target.log
    mkdir -p "$corpus" "$artifacts"
    cp fuzz/seeds/"$target"/* "$corpus"/
    if fuzz/"$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1; then
        echo "$target: $(grep '^Done' "$log" || echo 'no summary')"
    else
        status=1
        tail -40 "$log" >&2
        echo "$target: FAILED (full log: $log)" >&2
        for input in "$artifacts"/*; do
            if [ -e "$input" ]; then echo "$target: finding $input; replay with fuzz/$target $input" >&2; fi
        done
    fi
done
if [ $status = 0 ]; then rm -rf "$scratch"; fi
exit $status
