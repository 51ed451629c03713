#!/usr/bin/env bash
# run.sh: the one run command: builds ./cmd/sift into ./bin/sift and runs
# `sift serve` with the given arguments, e.g.
#   scripts/run.sh --listen 127.0.0.1:9093 --data-dir ./data
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mkdir -p bin
echo "run.sh: go build -o bin/sift ./cmd/sift" >&2
go build -o bin/sift ./cmd/sift
exec ./bin/sift serve "$@"
