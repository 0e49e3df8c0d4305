#!/usr/bin/env bash
# Builds the local test image gpudock-test/busybox:latest from the host's busybox-static: the
# test machines have no registry access, so `docker pull` is not an option.
# The engine is the docker CLI's: $DOCKER_HOST (e.g. the second CI engine), else the default one.
set -euo pipefail
image=${1:-gpudock-test/busybox:latest}
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ! file -L "$bb" 2>/dev/null | grep -q static; then
  for cand in /bin/busybox /usr/bin/busybox; do [ -x "$cand" ] && bb=$cand; done
fi
[ -n "$bb" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp "$bb" "$root/bin/busybox"
for applet in sh sleep echo cat ls true false yes head dd env kill printf seq; do
  ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "built $image"
