#!/usr/bin/env bash
# The hexagonal-sheet models of paper §3.2.1 from the committed GFN1-xTB data set, each on
# one thread (the two can run side by side on a 2-core machine). Interrupted? Run the same
# line again with --resume appended.
#   EDNN: 64×64 pixels for the 60-site cell (0.195 × 0.203 Å), f = 16, c = 8 — the paper's
#         physical focus (3.1 Å) and context (1.6 Å) — smooth dense tile net 256, 64.
#   whole-image baseline: the same kind of network on the whole 64×64 image (f = 64, c = 0).
set -euo pipefail
data=${DATA:-datasets/hexsheets-60.h5}
epochs=${EPOCHS:-80}
which=${1:-both}
export OMP_NUM_THREADS=1
if [ "$which" = ednn ] || [ "$which" = both ]; then
  ednn train "$data" -o models/hexsheets-gfn1xtb.safetensors --grid 64x64 -f 16 -c 8 \
    --epochs "$epochs" --batch-size 32 --lr 1e-3 --lr-min 1e-6 --seed 0 --run-dir runs/hexsheets-gfn1xtb "${@:2}"
fi
if [ "$which" = whole-image ] || [ "$which" = both ]; then
  ednn train "$data" -o models/hexsheets-gfn1xtb-whole-image.safetensors --grid 64x64 -f 64 -c 0 \
    --epochs "$epochs" --batch-size 32 --lr 1e-3 --lr-min 1e-6 --seed 0 --run-dir runs/hexsheets-gfn1xtb-whole-image "${@:2}"
fi
