#!/usr/bin/env bash
# The benchmark suite at full width (ResNet-18 width 64) on one CUDA card, batch 128 and 512, with
# torch.compile rows at batch 512 and D_A (bf16) on 10,000 images; about 5 minutes on one H100. It
# prints the two tables last: record them in benchmarks/RESULTS.md with the card's name and date.
#   bash benchmarks/gpu.sh                 # needs python3 with torch, torchvision, h5py, scikit-learn, tqdm
#   SMOKE=1 bash benchmarks/gpu.sh         # the same steps at toy sizes (checks the script on a CPU)
# With results/data/dataset.h5 present (any finished run), D_A is built on a model trained on those
# images; otherwise on a model trained on random images (the images/s hold, the gradient counts differ).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUTDIR=${OUTDIR:-benchmarks/out}
mkdir -p "$OUTDIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
if [ -n "${SMOKE:-}" ]; then
  W=8; N=600; NA=48; AB=32; NR=2; NE=600; E=1
else
  W=64; N=50000; NA=10000; AB=2048; NR=32; NE=50000; E=15
fi
t0=$SECONDS
"$PY" benchmarks/run.py --width $W --batch 128 --train-images $N --epoch-images $NE --skip-attack \
  --csv "$OUTDIR/gpu_b128.csv" 2>&1 | tee "$OUTDIR/gpu_b128.txt"
echo "batch 128 done after $((SECONDS - t0)) s"
"$PY" benchmarks/run.py --width $W --batch 512 --train-images $N --epoch-images $NE --compile \
  --attack-images $NA --attack-batch $AB --attack-precision bf16 --attack-compile --attack-model-epochs $E --reference-images $NR \
  --checkpoint none --csv "$OUTDIR/gpu_b512.csv" 2>&1 | tee "$OUTDIR/gpu_b512.txt"
echo "batch 512 done after $((SECONDS - t0)) s"
echo
sed -n '/^Benchmarks:/,$p' "$OUTDIR/gpu_b128.txt"
echo
sed -n '/^Benchmarks:/,$p' "$OUTDIR/gpu_b512.txt"
