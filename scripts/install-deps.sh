#!/usr/bin/env bash
# install-deps.sh: install the real components Sift's tests run against, on a
# fresh Debian 12 machine (run as root). Idempotent: packages that are already
# installed are skipped, and `apt-get update` runs only if something is missing.
# It never starts services: each test starts its own server (internal/testenv).
#
#   clickhouse-server, clickhouse-client  -> ClickHouse (history store tests)
#   prometheus                            -> Prometheus (rule/alert flow tests)
#   prometheus-alertmanager               -> Alertmanager + amtool (compat tests, benchmark)
#   kcat                                  -> Kafka CLI (manual checks against kfake)
#   chromium                              -> headless browser (UI tests)
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*"; }

# package:command pairs; the command is what tests look for on PATH.
deps=(
  "clickhouse-server:clickhouse-server"
  "clickhouse-client:clickhouse-client"
  "prometheus:prometheus"
  "prometheus-alertmanager:prometheus-alertmanager"
  "kcat:kcat"
  "chromium:chromium"
)

missing=()
for d in "${deps[@]}"; do
  pkg=${d%%:*}
  cmd=${d#*:}
  if command -v "$cmd" >/dev/null 2>&1 || dpkg -s "$pkg" >/dev/null 2>&1; then
    log "ok: $pkg already installed ($(command -v "$cmd" 2>/dev/null || echo "dpkg: installed"))"
  else
    log "missing: $pkg (no '$cmd' on PATH)"
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  log "all dependencies present, nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "apt-get not found: install these by hand: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "not root and no sudo: run as root, or install by hand: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Never let package scripts start daemons (policy-rc.d 101 = action forbidden).
# Only created if absent, and removed again afterwards.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ] && [ ${#SUDO[@]} -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
  trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
fi

# Wait for the dpkg/apt locks instead of failing when another apt runs.
APT=(apt-get -o DPkg::Lock::Timeout=600)
log "running: apt-get update"
"${SUDO[@]}" "${APT[@]}" update -q
log "running: apt-get install -y --no-install-recommends ${missing[*]}"
if ! "${SUDO[@]}" "${APT[@]}" install -y -q --no-install-recommends "${missing[@]}"; then
  log "install with --no-install-recommends failed; retrying with recommends"
  "${SUDO[@]}" "${APT[@]}" install -y -q "${missing[@]}"
fi

for d in "${deps[@]}"; do
  pkg=${d%%:*}
  cmd=${d#*:}
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "error: $pkg installed but '$cmd' is not on PATH" >&2
    exit 1
  fi
done
log "done: installed ${missing[*]}"
