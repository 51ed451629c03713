#!/usr/bin/env bash
# run.sh: the 30-minute soak of issue #15 against a real sift serve.
#
#   benchmarks/soak/run.sh [soak flags]          (default: -duration 30m)
#   benchmarks/soak/run.sh -duration 2m          (a quick check)
#
# Builds bin/sift (unless SIFT_BIN names a binary) and the soak command, then
# runs it; soak starts sift serve in a temporary data directory, restarts it
# every few minutes (SIGTERM and kill -9), writes a line every 10 s to OUT
# (default /tmp/sift-soak.ndjson) and exits 1 on a lost alert, a leak or a
# crash (see main.go). The binary is copied first, so that a rebuild of
# bin/sift during the run does not change what the restarts start.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/sift-soak-bin.XXXXXX")
trap 'rm -rf "$work"' EXIT
sift=${SIFT_BIN:-}
if [ -z "$sift" ]; then
  go build -o bin/sift ./cmd/sift
  sift=bin/sift
fi
cp "$sift" "$work/sift"
go build -o "$work/soak" ./benchmarks/soak
echo "soak: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)" >&2
"$work/soak" -sift "$work/sift" -out "${OUT:-/tmp/sift-soak.ndjson}" "$@"
