#!/usr/bin/env bash
# test.sh: the one test command for Sift (CI runs it through .ci/run).
#   1. installs the real components the tests use (scripts/install-deps.sh;
#      skips what is present, starts no services),
#   2. points SIFT_SHARED_DATA at ../shared/data when that exists,
#   3. runs `go vet ./...` and `go test ./... -count=1 -timeout 20m` (extra
#      arguments are passed to go test, e.g. scripts/test.sh -run Fingerprint).
# Tests that need a server start their own (internal/testenv); nothing has
# to be running beforehand.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

start=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }

step "dependencies (scripts/install-deps.sh)"
deps=ok
if ! "$root/scripts/install-deps.sh"; then
  deps=FAILED
  echo "test.sh: install-deps.sh failed; tests needing missing components will skip (or fail under CI=true)" >&2
fi

if [ -z "${SIFT_SHARED_DATA:-}" ] && [ -d "$root/../shared/data" ]; then
  SIFT_SHARED_DATA=$(cd "$root/../shared/data" && pwd)
  export SIFT_SHARED_DATA
fi
echo "SIFT_SHARED_DATA=${SIFT_SHARED_DATA:-<unset: tests needing shared data will skip>}"
echo "CI=${CI:-<unset>}  go: $(go version 2>/dev/null || echo 'NOT FOUND')"

step "go vet ./..."
vet=ok
go vet ./... || vet=FAILED

step "go test ./... -count=1 -timeout 20m $*"
log=$(mktemp "${TMPDIR:-/tmp}/sift-test.XXXXXX")
trap 'rm -f "$log"' EXIT
go test ./... -count=1 -timeout 20m "$@" 2>&1 | tee "$log"
testrc=${PIPESTATUS[0]}
tests=ok
[ "$testrc" -eq 0 ] || tests=FAILED

elapsed=$(( $(date +%s) - start ))
echo
echo "================ Sift test summary ================"
echo "dependencies : $deps"
echo "go vet       : $vet"
echo "go test      : $tests (exit $testrc)"
pkgs_ok=$(grep -c '^ok ' "$log" || true)
pkgs_fail=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]+' "$log" || true)
pkgs_none=$(grep -c 'no test files' "$log" || true)
echo "packages     : $pkgs_ok ok, $pkgs_fail failed, $pkgs_none without tests"
if [ "$tests" = FAILED ]; then
  echo "failed tests :"
  grep -E '^\s*--- FAIL' "$log" | sed 's/^/  /' | head -50
  grep -E '^FAIL[[:space:]]+[^[:space:]]+' "$log" | sed 's/^/  /'
fi
skips=$(grep -cE '^\s*--- SKIP' "$log" || true)
[ "$skips" -gt 0 ] && echo "skipped      : $skips test(s) (run with -v to see why)"
echo "elapsed      : ${elapsed}s"
if [ "$vet" = ok ] && [ "$tests" = ok ]; then
  echo "RESULT: PASS"
  exit 0
fi
echo "RESULT: FAIL"
exit 1
