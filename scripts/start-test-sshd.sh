#!/usr/bin/env bash
# Starts a loopback sshd for the ssh:// engine test (run as root): host key, client key, an
# ssh config with the Host alias `gpudock-ci-ssh`, and `bin/ssh`, a wrapper that uses that config
# (ssh reads ~/.ssh/config from the passwd entry, not $HOME, so the test puts bin/ on PATH instead;
# the wrapper logs each call to ssh-calls.log).
# The remote side's `docker system dial-stdio` talks to the engine given as $2 (sshd's SetEnv).
# Usage: start-test-sshd.sh DIR DOCKER_HOST [PORT]   — prints nothing; exits non-zero on failure.
set -euo pipefail
dir=$1
remote_docker_host=$2
port=${3:-22022}
sshd=/usr/sbin/sshd
[ -x "$sshd" ] || { echo "$sshd not found: apt-get install openssh-server" >&2; exit 1; }
mkdir -p "$dir/bin" /run/sshd
chmod 700 "$dir"
if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
  kill "$(cat "$dir/sshd.pid")"
  sleep 0.5
fi
[ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
[ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=$remote_docker_host
EOF
cat >"$dir/ssh_config" <<EOF
Host gpudock-ci-ssh
  HostName 127.0.0.1
  Port $port
Host gpudock-ci-ssh 127.0.0.1
  IdentityFile $dir/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
cat >"$dir/bin/ssh" <<EOF
#!/bin/sh
echo "\$*" >>$dir/ssh-calls.log
exec /usr/bin/ssh -F $dir/ssh_config "\$@"
EOF
chmod +x "$dir/bin/ssh"
"$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log"
for _ in $(seq 1 20); do
  "$dir/bin/ssh" -o BatchMode=yes root@gpudock-ci-ssh docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "the loopback sshd at 127.0.0.1:$port does not answer:" >&2
tail -20 "$dir/sshd.log" >&2
exit 1
