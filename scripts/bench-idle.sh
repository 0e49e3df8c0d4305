#!/usr/bin/env bash
# Idle cost of a dashboard, measured the way a node pays for it.
#
#   scripts/bench-idle.sh [-n CONTAINERS] [-s SECONDS] [-w WARMUP] [-g WxH] [-k] [-p] [-P PROCS]
#                         [--vs 'OTHER COMMAND'] -- COMMAND [ARGS…]
#
# Starts CONTAINERS idle busybox containers (network none, label io.gpudock.bench=1) on the
# engine in $DOCKER_HOST (scripts/test-engine.sh starts a private one), measures the engine's CPU
# (dockerd + containerd + shims) over SECONDS with nothing watching (baseline), then runs COMMAND
# in a WxH tmux pane (its own tmux server) for SECONDS and prints:
#   tool_cpu_s      CPU seconds of COMMAND's process tree, from the scheduler's run time of
#                   each thread (scripts/cpu-ns.py: exact, where utime + stime move in
#                   10 ms steps sampled at timer ticks)
#   tool_ticks_s    the same from utime + stime, as earlier rounds measured it
#   engine_cpu_s    engine CPU seconds above the baseline
#   total_cpu_s     the two together
#   peak_rss_kib    VmHWM of COMMAND's biggest process
#   pane_bytes      bytes COMMAND wrote to the terminal after WARMUP seconds (default 3)
#   engine_requests with -p: requests COMMAND sent the engine in those SECONDS (through a
#                   counting proxy, scripts/count-proxy.py, given to COMMAND as DOCKER_HOST),
#                   then one line per distinct request
# and removes the containers (unless -k keeps them for the next run).
#
# -P PROCS: a fake 8-GPU node (tests/fake_nvml, built here) with PROCS GPU processes that are
#   real processes: two thirds are the containers' init PIDs, one third host `sleep`s, spread
#   over the GPUs, each holding 1 GiB at a few % SM. COMMAND (and --vs) run with
#   FAKE_NVML_CONFIG, GPUDOCK_NVML_LIB and LD_LIBRARY_PATH pointing at it, so gpudock and
#   nvitop (pynvml) both load the fake library.
# --vs 'OTHER COMMAND': runs OTHER COMMAND the same way right after COMMAND (same containers,
#   processes and pane size) and prints both, then the ratio of their tool_cpu_s.
set -euo pipefail
n=50 secs=30 warm=3 geom=120x40 keep=0 proxy=0 procs=0 vs=""
usage() { sed -n '2,31p' "$0"; exit 2; }
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --vs) vs=${2:?--vs needs a command}; shift 2 ;;
    --) args+=("$@"); break ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]}"
while getopts "n:s:w:g:kpP:" opt; do
  case $opt in
    n) n=$OPTARG ;; s) secs=$OPTARG ;; w) warm=$OPTARG ;; g) geom=$OPTARG ;; k) keep=1 ;; p) proxy=1 ;;
    P) procs=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || usage
cmd=("$@")
w=${geom%x*} h=${geom#*x}
tck=$(getconf CLK_TCK)
image=gpudock-test/busybox:latest
label=io.gpudock.bench=1
here=$(cd "$(dirname "$0")" && pwd)
sock=gpudock-bench-$$
out=$(mktemp -d)
host_pids=()

cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  [ -z "${proxy_pid:-}" ] || kill "$proxy_pid" 2>/dev/null || true
  [ ${#host_pids[@]} -eq 0 ] || kill "${host_pids[@]}" 2>/dev/null || true
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

env_vars=()
if [ "$procs" -gt 0 ]; then
  mkdir -p "$out/nvml"
  cc -shared -fPIC -O1 -o "$out/nvml/libnvidia-ml.so.1" "$here/../tests/fake_nvml/fake_nvml.c"
  hosts=$((procs / 3)) in_containers=$((procs - procs / 3))
  mapfile -t cpids < <(docker ps -q --filter "label=$label" | head -n "$in_containers" | xargs -r docker inspect -f '{{.State.Pid}}')
  [ "${#cpids[@]}" -ge "$in_containers" ] || { echo "-P $procs needs at least $in_containers containers (-n)" >&2; exit 2; }
  for _ in $(seq 1 "$hosts"); do sleep 86400 & host_pids+=($!); done
  bash "$here/fake-gpu-node.sh" "${cpids[@]}" "${host_pids[@]}" >"$out/fake.conf"
  # The config never changes during a run: the fake checks it once a second, not at every
  # call (see tests/fake_nvml/README.md), for every command measured.
  env_vars=(env "FAKE_NVML_CONFIG=$out/fake.conf" "FAKE_NVML_RECHECK_MS=1000" "GPUDOCK_NVML_LIB=$out/nvml/libnvidia-ml.so.1" "LD_LIBRARY_PATH=$out/nvml")
fi

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
  target=${DOCKER_HOST:-unix:///var/run/docker.sock}
  python3 "$here/count-proxy.py" "$out/docker.sock" "${target#unix://}" "$out/requests" &
  proxy_pid=$!
  for _ in $(seq 1 50); do [ -S "$out/docker.sock" ] && break; sleep 0.1; done
fi

# measure NAME COMMAND…: runs it in the pane for SECONDS after the warm-up; figures to $out/NAME.
measure() {
  local name=$1; shift
  local run=("${env_vars[@]}" "$@")
  [ "$proxy" = 1 ] && run=(env "DOCKER_HOST=unix://$out/docker.sock" "${run[@]}")
  rm -f "$out/pane"
  tmux -L "$sock" new-session -d -s bench -x "$w" -y "$h" "$(printf '%q ' "${run[@]}")"
  local pane; pane=$(tmux -L "$sock" list-panes -t bench -F '#{pane_pid}')
  # Start-up is not idle cost: measure from the end of the warm-up.
  sleep "$warm"
  local pids t0 e0 w0 t1 e1 w1
  pids=$(tree "$pane")
  t0=$(ticks $pids) e0=$(ticks $(engine_pids)) w0=$(date +%s.%N)
  tmux -L "$sock" pipe-pane -t bench -o "cat >> $out/pane"
  # Waits the SECONDS out, counting the tree's CPU to the nanosecond (scripts/cpu-ns.py).
  local ns; ns=$(python3 "$here/cpu-ns.py" "$secs" "$pane" | awk '{print $1}')
  tmux -L "$sock" pipe-pane -t bench
  pids=$(tree "$pane")
  t1=$(ticks $pids) e1=$(ticks $(engine_pids)) w1=$(date +%s.%N)
  local tool=$((t1 - t0)) rss=0 r p
  for p in $pids; do
    r=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$rss" ] && rss=$r
  done
  tmux -L "$sock" kill-session -t bench 2>/dev/null || true
  local bytes engine
  bytes=$(stat -c %s "$out/pane" 2>/dev/null || echo 0)
  engine=$(( (e1 - e0) - baseline ))
  [ "$engine" -lt 0 ] && engine=0
  awk -v w="$warm" -v t="$tool" -v ns="${ns:-0}" -v e="$engine" -v b="$baseline" -v k="$tck" -v r="$rss" -v by="$bytes" \
      -v n="$n" -v s="$secs" -v P="$procs" -v c="$*" '
    BEGIN {
      printf "command         %s\n", c
      printf "containers      %d\ngpu_processes   %d\nseconds         %d (+%d warm-up)\n", n, P, s, w
      printf "tool_cpu_s      %.3f\ntool_ticks_s    %.2f\n", ns / 1e9, t / k
      printf "engine_cpu_s    %.2f\ntotal_cpu_s     %.2f\n", e / k, ns / 1e9 + e / k
      printf "engine_baseline %.2f\npeak_rss_kib    %d\npane_bytes      %d\n", b / k, r, by
    }' | tee "$out/$name"
  if [ "$proxy" = 1 ]; then
    touch "$out/requests"
    awk -v a="$w0" -v b="$w1" '$1 >= a && $1 <= b' "$out/requests" >"$out/window"
    printf 'engine_requests %d\n' "$(wc -l <"$out/window")"
    # Paths without the version prefix and query, counted: what it asked, and how often.
    awk '{ p = $3; sub(/^\/v[0-9.]+/, "", p); sub(/\?.*/, "", p); print "  " $2 " " p }' "$out/window" | sort | uniq -c
  fi
}

measure first "${cmd[@]}"
if [ -n "$vs" ]; then
  echo
  read -r -a other <<<"$vs"
  measure second "${other[@]}"
  a=$(awk '/^tool_cpu_s/ {print $2}' "$out/first") b=$(awk '/^tool_cpu_s/ {print $2}' "$out/second")
  echo
  awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "ratio           %.1f (second / first, tool_cpu_s)\n", b / a; else print "ratio           n/a (first used no CPU)" }'
fi
