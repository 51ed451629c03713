#!/usr/bin/env bash
# Scores Sift on the storm families of issue #12: for each family × seed ×
# {with topology, without}, generate one simulated day, replay it through
# Sift and print one table row (see benchmarks/RESULTS.md, 3.x). Not run
# in CI. The existing family (benchmarks/storm, `sift simulate`) is scored
# too, for comparison.
#
#   SIFT_SHARED_DATA=/path/to/shared/data benchmarks/stormfamily/eval.sh [OUTDIR]
#
# SEEDS (default "1 2 3") and FAMILIES (default "kube legacy") override.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/stormfamily-eval}
seeds=${SEEDS:-1 2 3}
families=${FAMILIES:-kube legacy}
mkdir -p "$out"
if [[ -z "${SIFT_SHARED_DATA:-}" ]]; then
  echo "note: SIFT_SHARED_DATA is unset: the families use generic alert names, not awesome-prometheus-alerts" >&2
fi
go build -o /tmp/sift-eval ./cmd/sift
go build -o /tmp/stormfamily-eval ./benchmarks/stormfamily/cmd/stormfamily

header=--header
for fam in $families; do
  for seed in $seeds; do
    dir=$out/$fam-$seed
    /tmp/stormfamily-eval gen -family "$fam" -seed "$seed" -out "$dir" >&2
    for cfg in sift.yaml sift-notopo.yaml; do
      o=$dir/out-${cfg%.yaml}.ndjson
      /tmp/sift-eval replay --config "$dir/$cfg" --input "$dir/replay.ndjson" --output "$o" 2>/dev/null
      /tmp/stormfamily-eval score $header -family "$fam" -seed "$seed" -dir "$dir" -output "$o" -config "$dir/$cfg" -json "${o%.ndjson}.score.json"
      header=
    done
  done
done
# the existing family, 1 day, the generator's default text and rates
for seed in $seeds; do
  dir=$out/storm-$seed
  SIFT_SHARED_DATA= /tmp/sift-eval simulate -out "$dir" -seed "$seed" >&2
  /tmp/sift-eval replay --config "$dir/sift.yaml" --input "$dir/replay.ndjson" --output "$dir/out-sift.ndjson" 2>/dev/null
  /tmp/stormfamily-eval score $header -family storm -seed "$seed" -dir "$dir" -output "$dir/out-sift.ndjson" -json "$dir/out-sift.score.json"
  header=
done
