#!/usr/bin/env bash
# GPU benchmark at full width (ResNet-18 width 64) for one H100-class card, batch 128 and 512,
# in well under 8 minutes; prints the tables last. Record the output in benchmarks/RESULTS.md.
#   bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
for b in 128 512; do
  $PY benchmarks/run.py --width 64 --batch $b --train-images 50000 --attack-images 10000 --attack-batch 2048 \
    --attack-precision bf16 --reference-images 32 --epoch-images 50000 --csv benchmarks/out/gpu_b$b.csv \
    > benchmarks/out/gpu_b$b.txt 2>&1
done
cat benchmarks/out/gpu_b128.txt benchmarks/out/gpu_b512.txt
