#!/usr/bin/env bash
# Idle cost of `gpudock export` scraped by a real Prometheus, the way a node pays for it.
#
#   scripts/bench-export.sh [-n CONTAINERS] [-P PROCS] [-i SCRAPE_SECONDS] [-s SECONDS] -- GPUDOCK_BINARY
#
# On the engine in $DOCKER_HOST (scripts/test-engine.sh starts a private one): starts CONTAINERS
# idle busybox containers (label io.gpudock.bench=1, kept for the next run), a fake 8-GPU node
# with PROCS real GPU processes (two thirds the containers' init PIDs, one third host `sleep`s,
# as scripts/bench-idle.sh -P does), `GPUDOCK_BINARY export` on a loopback port, and Debian's
# `prometheus` scraping it every SCRAPE_SECONDS (default 15) with a temporary data directory.
# After two scrapes it measures the exporter's CPU over SECONDS (default 60) and prints:
#   export_cpu_s       CPU seconds of the exporter in SECONDS
#   export_cpu_per_30s the same per 30 s
#   scrapes            scrapes Prometheus made in SECONDS (from its own counter)
#   peak_rss_kib       VmHWM of the exporter
set -euo pipefail
n=50 procs=12 every=15 secs=60
while getopts "n:P:i:s:" opt; do
  case $opt in
    n) n=$OPTARG ;; P) procs=$OPTARG ;; i) every=$OPTARG ;; s) secs=$OPTARG ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -eq 1 ] || { sed -n '2,16p' "$0"; exit 2; }
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
image=gpudock-test/busybox:latest
label=io.gpudock.bench=1
out=$(mktemp -d)
pids=()
cleanup() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

bash "$here/build-test-image.sh" "$image" >/dev/null
have=$(docker ps -q --filter "label=$label" | wc -l)
seq $((have + 1)) "$n" | xargs -r -P 4 -I{} docker run -d --network none --label "$label" "$image" sleep 86400 >/dev/null

mkdir -p "$out/nvml"
cc -shared -fPIC -O1 -o "$out/nvml/libnvidia-ml.so.1" "$here/../tests/fake_nvml/fake_nvml.c"
hosts=$((procs / 3)) in_containers=$((procs - procs / 3))
mapfile -t cpids < <(docker ps -q --filter "label=$label" | head -n "$in_containers" | xargs -r docker inspect -f '{{.State.Pid}}')
for _ in $(seq 1 "$hosts"); do sleep 86400 & pids+=($!); done
bash "$here/fake-gpu-node.sh" "${cpids[@]}" "${pids[@]}" >"$out/fake.conf"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env FAKE_NVML_CONFIG="$out/fake.conf" FAKE_NVML_RECHECK_MS=1000 GPUDOCK_NVML_LIB="$out/nvml/libnvidia-ml.so.1" \
  "$bin" export --listen "127.0.0.1:$port" --log-file "$out/export.log" &
epid=$!
pids+=("$epid")
cat >"$out/prometheus.yml" <<EOF
global:
  scrape_interval: ${every}s
  scrape_timeout: $(( every < 10 ? every : 10 ))s
scrape_configs:
  - job_name: gpudock
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/data" \
  --web.listen-address="127.0.0.1:$pport" >"$out/prom.log" 2>&1 &
pids+=($!)
scrapes() {
  curl -s "http://127.0.0.1:$pport/api/v1/query" --data-urlencode \
    'query=count_over_time(up{job="gpudock"}[1h])' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[-1]["value"][1])) if r else 0)' 2>/dev/null || echo 0
}
# Two scrapes first: the beat settles on the scrape interval.
for _ in $(seq 1 $((every * 3 + 30))); do
  [ "$(scrapes)" -ge 2 ] && break
  sleep 1
done
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$epid/stat"; }
tck=$(getconf CLK_TCK)
s0=$(scrapes) t0=$(ticks)
sleep "$secs"
t1=$(ticks) s1=$(scrapes)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$epid/status")
awk -v t=$((t1 - t0)) -v k="$tck" -v s="$secs" -v n="$n" -v P="$procs" -v e="$every" -v sc=$((s1 - s0)) -v r="$rss" 'BEGIN {
  printf "containers         %d\ngpu_processes      %d\nscrape_interval_s  %d\nseconds            %d\n", n, P, e, s
  printf "export_cpu_s       %.2f\nexport_cpu_per_30s %.3f\nscrapes            %d\npeak_rss_kib       %d\n", t / k, t / k * 30 / s, sc, r
}'
