#!/usr/bin/env bash
# Checks gpudock's NVML backend against a real NVIDIA driver: run on a GPU machine with a
# release binary (default ./gpudock). It starts one process that holds GPU memory idle and one
# that keeps the GPU busy (PyTorch), then records what `nvidia-smi` and `gpudock snapshot
# --json` say, and runs the dashboard for a few seconds under a pseudo-terminal (keys: the GPU
# process view, then quit) with its log at debug level. Everything lands in $OUT.
set -u
BIN=${1:-./gpudock}
OUT=${OUT:-/tmp/gpudock-device-check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=index,name,driver_version,memory.used,memory.total,utilization.gpu,temperature.gpu,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max,clocks_event_reasons.active,mig.mode.current,ecc.errors.uncorrected.volatile.total,clocks.max.sm \
  --format=csv >"$OUT/nvidia-smi.csv" 2>&1
python3 -c "import torch,time; x=torch.empty(2<<30,dtype=torch.uint8,device='cuda'); torch.cuda.synchronize(); time.sleep(45)" &
idle=$!
python3 -c "
import torch,time
a=torch.randn(8192,8192,device='cuda',dtype=torch.bfloat16); t=time.time()
while time.time()-t<45: (a@a).sum().item()" &
busy=$!
sleep 15
nvidia-smi --query-compute-apps=pid,used_memory --format=csv >>"$OUT/nvidia-smi.csv" 2>&1
{ time "$BIN" snapshot --json >"$OUT/snapshot.json"; } 2>"$OUT/snapshot.time"
printf 'idle_gpu_after = "5s"\n' >/tmp/gpudock-check.toml
# Keys: after 9 s the process view (p), 3 s later back (q) and quit (q).
(sleep 9; printf p; sleep 3; printf q; sleep 1; printf q) |
  GPUDOCK_LOG=debug timeout 20 script -qfc "stty cols 120 rows 40; $BIN --config /tmp/gpudock-check.toml --log-file $OUT/gpudock.log" /dev/null >"$OUT/tty.raw" 2>&1
echo "dashboard exit: $?" >>"$OUT/snapshot.time"
kill "$idle" "$busy" 2>/dev/null
wait 2>/dev/null
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
s = json.load(open(f"{out}/snapshot.json"))
print("nvml:", s["nvml"])
for g in s["gpus"]:
    print("gpu", g["index"], g["name"], "mem", g["memory_used_bytes"], "/", g["memory_total_bytes"], "util", g["utilization_gpu_percent"], "temp", g["temperature_c"])
    print("  health:", json.dumps(g["health"]))
    print("  mig:", g["mig"])
    for p in g["processes"]:
        print("  proc", {k: p[k] for k in ("pid", "memory_used_bytes", "sm_percent", "cpu_percent", "rss_bytes", "elapsed_seconds", "command_line", "user")})
PY
