#!/usr/bin/env bash
# Starts (or reuses) a private Docker engine for the tests, never the default one: its own
# socket, data root, exec root, pid file and an empty config file, no bridge, no iptables. Then
# imports the test image into it. Run as root. Prints the engine's DOCKER_HOST on stdout (and
# nothing else there), so a caller can write:
#
#   export GPUDOCK_TEST_DOCKER_HOST=$(bash scripts/test-engine.sh)
#   GPUDOCK_TEST_DOCKER_HOST2=$(bash scripts/test-engine.sh 2 -H tcp://127.0.0.1:22376 --tlsverify …)
#
# Usage: test-engine.sh [NAME] [EXTRA DOCKERD ARGS…]   (NAME defaults to 1)
# An engine already answering on NAME's socket is reused when it was started with the same
# extra arguments; otherwise it is stopped and started again with them.
set -euo pipefail
name=${1:-1}
shift || true
extra=("$@")
here=$(cd "$(dirname "$0")" && pwd)
base=/var/run/gpudock-test-$name
sock=$base.sock
host=unix://$sock
pidfile=$base.pid
argsfile=$base.args
data=/var/lib/gpudock-test-$name
log=/tmp/gpudock-test-engine-$name.log
conf=/tmp/gpudock-test-engine-$name.json

command -v dockerd >/dev/null || { echo "dockerd not found: apt-get install docker.io" >&2; exit 1; }
up() { DOCKER_HOST=$host docker version >/dev/null 2>&1; }
want="${extra[*]:-}"

if up && [ "$(cat "$argsfile" 2>/dev/null)" != "$want" ]; then
  echo "restarting test engine $name with new arguments" >&2
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
fi
if ! up; then
  echo "starting test engine $name on $host" >&2
  mkdir -p "$data" "$base"
  echo '{}' >"$conf"
  printf '%s' "$want" >"$argsfile"
  # No bridge, no iptables: the tests use network mode none (or host) and create no networks.
  setsid nohup dockerd --data-root "$data" --exec-root "$base" --pidfile "$pidfile" \
    -H "$host" --config-file "$conf" --bridge=none --iptables=false --ip-masq=false \
    "${extra[@]}" >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do up && break; sleep 1; done
  up || { echo "test engine $name did not start:" >&2; tail -30 "$log" >&2; exit 1; }
fi
DOCKER_HOST=$host bash "$here/build-test-image.sh" >&2
echo "$host"
