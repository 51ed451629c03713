#!/usr/bin/env bash
# compare.sh: ingest load on the real Alertmanager and on Sift, side by side.
#
#   benchmarks/ingestload/compare.sh [ingestload flags]
#   (default flags: -clients 8 -batch 100 -distinct 20000 -duration 20s)
#
# 1. Starts the real Alertmanager (Debian prometheus-alertmanager) on a free
#    loopback port with a minimal config (one blackhole receiver, gossip off),
#    runs ingestload against its POST /api/v2/alerts, records its resident
#    memory (VmRSS) before and after, and stops it.
# 2. Then Sift: SIFT_URL (base URL, e.g. http://127.0.0.1:9093; set SIFT_PID
#    too for memory figures) if set, else bin/sift if built (scripts/run.sh
#    builds it), started as `bin/sift serve --listen 127.0.0.1:PORT
#    --data-dir TMPDIR`. Skipped if neither exists.
# 3. Prints both results side by side; memory per alert = VmRSS after the
#    load / -distinct (and the growth over the idle process / -distinct).
#
# SILENCES=N creates N active silences on both servers before the load (each
# mutes one of the load's alerts; every alert is matched against all).
# WEBHOOKS=N gives the Sift it starts N signed webhook targets (a local sink
# that answers 204) for every incident event.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-clients 8 -batch 100 -distinct 20000 -duration 20s)
distinct=20000
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -distinct|--distinct) distinct=${args[$((i + 1))]} ;;
    -distinct=*|--distinct=*) distinct=${args[$i]#*=} ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sift-ingestload.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf 'compare: %s\n' "$*" >&2; }

freeport() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  say "no free port found"; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
wait_http() { # url seconds
  local deadline=$(( $(date +%s) + $2 ))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
wait_port() { # port seconds
  local deadline=$(( $(date +%s) + $2 ))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
jget() { sed -n "s/^  \"$1\": //p" "$2" | sed 's/,$//; s/^"//; s/"$//'; }

say "building ingestload"
go build -o "$work/ingestload" ./benchmarks/ingestload

declare -A R # R[name.key]

silence() { # baseURL
  [ -n "${SILENCES:-}" ] || return 0
  say "creating $SILENCES silences on $1"
  "$work/ingestload" -url "$1/api/v2/alerts" -silences "$SILENCES" -only-silences -distinct "$distinct"
}

measure() { # name baseURL pid
  local name=$1 base=$2 pid=${3:-} before=0 after=0 cpu0=0 cpu1=0
  [ -n "$pid" ] && before=$(rss_kb "$pid") && cpu0=$(cpu_ticks "$pid")
  R[$name.load]=$(cut -d' ' -f1 /proc/loadavg)
  say "load on $name: ingestload -url $base/api/v2/alerts ${args[*]}"
  if ! "$work/ingestload" -url "$base/api/v2/alerts" -json "${args[@]}" >"$work/$name.json"; then
    say "ingestload against $name failed"; cat "$work/$name.json" >&2 || true
  fi
  [ -n "$pid" ] && after=$(rss_kb "$pid") && cpu1=$(cpu_ticks "$pid")
  R[$name.cpu_s]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { if (t > 0) printf "%.1f", t / hz; else printf "n/a" }')
  R[$name.rss_before]=$before
  R[$name.rss_after]=$after
  for k in accepted_alerts_per_sec p50_ms p99_ms max_ms requests_2xx requests_non_2xx transport_errors alerts_accepted seconds first_error; do
    R[$name.$k]=$(jget "$k" "$work/$name.json")
  done
}

# --- Alertmanager -----------------------------------------------------------
am=$(command -v prometheus-alertmanager || true)
if [ -z "$am" ]; then say "prometheus-alertmanager not installed (scripts/install-deps.sh)"; exit 1; fi
amport=$(freeport)
mkdir -p "$work/am-data"
cat >"$work/alertmanager.yml" <<'YML'
route:
  receiver: blackhole
receivers:
  - name: blackhole
YML
"$am" --config.file="$work/alertmanager.yml" --storage.path="$work/am-data" \
  --web.listen-address="127.0.0.1:$amport" --cluster.listen-address= --log.level=warn \
  >"$work/am.log" 2>&1 &
ampid=$!
pids+=("$ampid")
wait_http "http://127.0.0.1:$amport/-/ready" 60 || { say "alertmanager did not start"; cat "$work/am.log" >&2; exit 1; }
amver=$("$am" --version 2>&1 | head -1)
say "alertmanager ready: $amver (pid $ampid, port $amport)"
silence "http://127.0.0.1:$amport"
measure alertmanager "http://127.0.0.1:$amport" "$ampid"
R[alertmanager.held]=$(curl -fsS "http://127.0.0.1:$amport/metrics" | awk '/^alertmanager_alerts\{state=/ {n += $2} END {print n + 0}')
kill "$ampid"; wait "$ampid" 2>/dev/null || true

# --- Sift -------------------------------------------------------------------
sift=""
if [ -n "${SIFT_URL:-}" ]; then
  sift=${SIFT_URL%/}
  siftpid=${SIFT_PID:-}
elif [ -x "$root/bin/sift" ]; then
  siftport=$(freeport)
  mkdir -p "$work/sift-data"
  siftcfg=()
  if [ -n "${WEBHOOKS:-}" ]; then
    sinkport=$(freeport)
    "$work/ingestload" -receive "127.0.0.1:$sinkport" 2>/dev/null &
    pids+=("$!")
    {
      echo "notify:"
      echo "  webhooks:"
      for i in $(seq "$WEBHOOKS"); do
        echo "    - {name: target$i, url: \"http://127.0.0.1:$sinkport/hook$i\", secret_env: SIFT_BENCH_SECRET}"
      done
    } >"$work/sift.yaml"
    export SIFT_BENCH_SECRET=benchmark-secret
    siftcfg=(--config "$work/sift.yaml")
    say "sift with $WEBHOOKS webhook targets (sink on port $sinkport)"
  fi
  "$root/bin/sift" serve "${siftcfg[@]}" --listen "127.0.0.1:$siftport" --data-dir "$work/sift-data" >"$work/sift.log" 2>&1 &
  siftpid=$!
  pids+=("$siftpid")
  if wait_port "$siftport" 60; then
    sift="http://127.0.0.1:$siftport"
    say "sift ready (pid $siftpid, port $siftport)"
  else
    say "bin/sift did not listen on $siftport within 60s"; tail -20 "$work/sift.log" >&2
  fi
else
  say "no SIFT_URL and no bin/sift: measuring Alertmanager only (build Sift with scripts/run.sh or go build -o bin/sift ./cmd/sift)"
fi
if [ -n "$sift" ]; then
  silence "$sift"
  measure sift "$sift" "${siftpid:-}"
  if [ -n "${sinkport:-}" ]; then
    sleep 2
    R[sift.webhooks]=$(curl -fsS "http://127.0.0.1:$sinkport/count" || echo n/a)
  fi
  if [ -z "${SIFT_URL:-}" ]; then # we started it: stop it (never an external one)
    kill "$siftpid" 2>/dev/null || true
    wait "$siftpid" 2>/dev/null || true
  fi
fi

# --- Report -----------------------------------------------------------------
names=(alertmanager)
[ -n "$sift" ] && names+=(sift)
per_alert() { # kb distinct -> bytes per alert
  awk -v kb="$1" -v n="$2" 'BEGIN { if (kb > 0 && n > 0) printf "%.0f", kb * 1024 / n; else printf "n/a" }'
}
echo
echo "ingestload ${args[*]}   ($(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '%-28s' ""; for n in "${names[@]}"; do printf '%18s' "$n"; done; echo
row() { # label key [fmt]
  printf '%-28s' "$1"
  for n in "${names[@]}"; do printf '%18s' "${R[$n.$2]:-n/a}"; done; echo
}
for n in "${names[@]}"; do
  R[$n.aps]=$(awk -v v="${R[$n.accepted_alerts_per_sec]:-0}" 'BEGIN { printf "%.0f", v }')
  for k in p50_ms p99_ms max_ms seconds; do
    R[$n.$k]=$(awk -v v="${R[$n.$k]:-0}" 'BEGIN { printf "%.2f", v }')
  done
  R[$n.apcpu]=$(awk -v a="${R[$n.alerts_accepted]:-0}" -v c="${R[$n.cpu_s]}" 'BEGIN { if (c > 0) printf "%.0f", a / c; else printf "n/a" }')
  R[$n.rss_mib]=$(awk -v kb="${R[$n.rss_after]}" 'BEGIN { if (kb > 0) printf "%.1f", kb / 1024; else printf "n/a" }')
  R[$n.bpa]=$(per_alert "${R[$n.rss_after]}" "$distinct")
  R[$n.gpa]=$(per_alert $(( ${R[$n.rss_after]:-0} - ${R[$n.rss_before]:-0} )) "$distinct")
done
row "accepted alerts/s" aps
row "p50 request latency (ms)" p50_ms
row "p99 request latency (ms)" p99_ms
row "max request latency (ms)" max_ms
row "requests 2xx" requests_2xx
row "requests non-2xx" requests_non_2xx
row "transport errors" transport_errors
row "run time (s)" seconds
row "server CPU during load (s)" cpu_s
row "accepted alerts/CPU-second" apcpu
row "load average at start" load
row "RSS after load (MiB)" rss_mib
row "RSS after / distinct (B)" bpa
row "RSS growth / distinct (B)" gpa
[ -n "${SILENCES:-}" ] && echo "silences on both: $SILENCES active"
[ -n "${WEBHOOKS:-}" ] && echo "sift webhook targets: $WEBHOOKS; deliveries received by the sink: ${R[sift.webhooks]:-n/a}"
echo "alertmanager: $amver; alerts held after load (active+suppressed+unprocessed): ${R[alertmanager.held]:-n/a} (distinct $distinct)"
for n in "${names[@]}"; do
  [ -n "${R[$n.first_error]:-}" ] && echo "$n first error: ${R[$n.first_error]}"
done
exit 0
