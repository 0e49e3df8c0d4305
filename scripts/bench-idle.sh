#!/usr/bin/env bash
# Idle cost of a dashboard, measured the way a node pays for it.
#
#   scripts/bench-idle.sh [-n CONTAINERS] [-s SECONDS] [-w WARMUP] [-g WxH] [-k] [-p] -- COMMAND [ARGS…]
#
# Starts CONTAINERS idle busybox containers (network none, label io.gpudock.bench=1), measures
# the engine's CPU (dockerd + containerd + shims) over SECONDS with nothing watching (baseline),
# then runs COMMAND in a WxH tmux pane for SECONDS and prints:
#   tool_cpu_s      CPU seconds of COMMAND's process tree
#   engine_cpu_s    engine CPU seconds above the baseline
#   total_cpu_s     the two together
#   peak_rss_kib    VmHWM of COMMAND's biggest process
#   pane_bytes      bytes COMMAND wrote to the terminal after WARMUP seconds (default 3)
#   engine_requests with -p: requests COMMAND sent the engine in those SECONDS (through a
#                   counting proxy, scripts/count-proxy.py, given to COMMAND as DOCKER_HOST),
#                   then one line per distinct request
# and removes the containers (unless -k keeps them for the next run).
set -euo pipefail
n=50 secs=30 warm=3 geom=120x40 keep=0 proxy=0
while getopts "n:s:w:g:kp" opt; do
  case $opt in
    n) n=$OPTARG ;; s) secs=$OPTARG ;; w) warm=$OPTARG ;; g) geom=$OPTARG ;; k) keep=1 ;; p) proxy=1 ;;
    *) sed -n '2,18p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { sed -n '2,18p' "$0"; exit 2; }
cmd=("$@")
w=${geom%x*} h=${geom#*x}
tck=$(getconf CLK_TCK)
image=gpudock-test/busybox:latest
label=io.gpudock.bench=1
here=$(cd "$(dirname "$0")" && pwd)
session=gpudock-bench-$$
out=$(mktemp -d)

cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -z "${proxy_pid:-}" ] || kill "$proxy_pid" 2>/dev/null || true
  if [ "$keep" = 0 ]; then
    ids=$(docker ps -aq --filter "label=$label")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null
  fi
  rm -rf "$out"
}
trap cleanup EXIT

bash "$here/build-test-image.sh" "$image" >/dev/null
have=$(docker ps -q --filter "label=$label" | wc -l)
seq $((have + 1)) "$n" | xargs -r -P 4 -I{} docker run -d --network none --label "$label" "$image" sleep 86400 >/dev/null

# CPU ticks (user+system) of the given PIDs; tolerant of processes that exit meanwhile.
ticks() {
  local sum=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    sum=$((sum + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}
engine_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f containerd-shim || true; }
tree() { # PID and all its descendants
  local p=$1; echo "$p"
  for c in $(pgrep -P "$p" || true); do tree "$c"; done
}

sleep 2 # let the container starts settle
e0=$(ticks $(engine_pids)); sleep "$secs"; e1=$(ticks $(engine_pids))
baseline=$((e1 - e0))

if [ "$proxy" = 1 ]; then
  python3 "$here/count-proxy.py" "$out/docker.sock" /var/run/docker.sock "$out/requests" &
  proxy_pid=$!
  for _ in $(seq 1 50); do [ -S "$out/docker.sock" ] && break; sleep 0.1; done
  cmd=(env "DOCKER_HOST=unix://$out/docker.sock" "${cmd[@]}")
fi
tmux new-session -d -s "$session" -x "$w" -y "$h" "$(printf '%q ' "${cmd[@]}")"
pane=$(tmux list-panes -t "$session" -F '#{pane_pid}')
# Start-up is not idle cost: measure from the end of the warm-up.
sleep "$warm"
pids=$(tree "$pane")
t0=$(ticks $pids) e0=$(ticks $(engine_pids)) w0=$(date +%s.%N)
tmux pipe-pane -t "$session" -o "cat >> $out/pane"
sleep "$secs"
tmux pipe-pane -t "$session"
pids=$(tree "$pane")
t1=$(ticks $pids) e1=$(ticks $(engine_pids)) w1=$(date +%s.%N)
tool=$((t1 - t0))
rss=0
for p in $pids; do
  r=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
  [ "${r:-0}" -gt "$rss" ] && rss=$r
done
bytes=$(stat -c %s "$out/pane" 2>/dev/null || echo 0)
engine=$(( (e1 - e0) - baseline ))
[ "$engine" -lt 0 ] && engine=0
awk -v w="$warm" -v t="$tool" -v e="$engine" -v b="$baseline" -v k="$tck" -v r="$rss" -v by="$bytes" -v n="$n" -v s="$secs" '
  BEGIN {
    printf "containers      %d\nseconds         %d (+%d warm-up)\n", n, s, w
    printf "tool_cpu_s      %.2f\nengine_cpu_s    %.2f\ntotal_cpu_s     %.2f\n", t / k, e / k, (t + e) / k
    printf "engine_baseline %.2f\npeak_rss_kib    %d\npane_bytes      %d\n", b / k, r, by
  }'
if [ "$proxy" = 1 ]; then
  touch "$out/requests"
  awk -v a="$w0" -v b="$w1" '$1 >= a && $1 <= b' "$out/requests" >"$out/window"
  printf 'engine_requests %d\n' "$(wc -l <"$out/window")"
  # Paths without the version prefix and query, counted: what the dashboard asked, and how often.
  awk '{ p = $3; sub(/^\/v[0-9.]+/, "", p); sub(/\?.*/, "", p); print "  " $2 " " p }' "$out/window" | sort | uniq -c
fi
