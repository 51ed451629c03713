#!/usr/bin/env bash
# run.sh: the 2M-alert overload of issue #15 against a real sift serve.
#
#   benchmarks/overload/run.sh [overload flags]
#   (default: -alerts 2000000, Sift's default configuration)
#   benchmarks/overload/run.sh -alerts 2000000 -max-active 200000
#
# Builds bin/sift (unless SIFT_BIN names a binary) and the overload command,
# then runs it; overload starts sift serve in a temporary data directory and
# exits 1 when a bound is broken (see main.go). The JSON result goes to
# OUT (default /tmp/sift-overload.json).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/sift-overload-bin.XXXXXX")
trap 'rm -rf "$work"' EXIT
sift=${SIFT_BIN:-}
if [ -z "$sift" ]; then
  go build -o bin/sift ./cmd/sift
  sift=bin/sift
fi
go build -o "$work/overload" ./benchmarks/overload
echo "overload: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)" >&2
"$work/overload" -sift "$sift" -json "${OUT:-/tmp/sift-overload.json}" "$@"
