#!/usr/bin/env bash
# The fake NVML config of the benchmark node (tests/fake_nvml/): 8 H100s, and one GPU process
# per PID given, spread over the GPUs, each holding 1 GiB at a few % SM. Written to stdout.
#
#   scripts/fake-gpu-node.sh PID… > fake.conf
set -euo pipefail
echo "driver 550.54.15"
echo "cuda 12040"
for g in 0 1 2 3 4 5 6 7; do
  echo "gpu $g name=\"NVIDIA H100 80GB HBM3\" uuid=GPU-$(printf %08d "$g")-0000-0000-0000-000000000000 mem_total=85520809984 mem_used=$(( (g + 1) * 2000000000 )) util_gpu=$((g * 5)) util_mem=10 temp=$((40 + g)) power_mw=$((100000 + g * 20000)) power_limit_mw=700000 sm_clock=1980 mem_clock=2619 fan=na"
done
i=0
for pid in "$@"; do
  echo "proc $((i % 8)) pid=$pid used=1073741824 sm=$((i % 5))"
  i=$((i + 1))
done
