#!/usr/bin/env bash
# Focus/context study of paper §3.1 at an equal budget: f=1, c=1, 2, 3, the same lean
# tile network (dense 64, 64), 100 epochs of batch 2000, Adam with cosine decay 1e-3 → 1e-6.
# The three go to models/ablations/ (their cards: models/ablations/README.md); the flagship
# f=1, c=1 model (paper's network, 600 epochs) is trained by the command in models/README.md.
set -euo pipefail
data=${1:-data/ising/train-8x8.h5}
for c in 1 2 3; do
  name=ising-8x8-f1c${c}-lean
  [ "$c" = 1 ] || name=ising-8x8-f1c${c}
  ednn train "$data" -o models/ablations/$name.safetensors -f 1 -c $c --net-option hidden=64,64 --epochs 100 \
    --batch-size 2000 --lr 1e-3 --lr-min 1e-6 --seed 0 --run-dir runs/$name
done
