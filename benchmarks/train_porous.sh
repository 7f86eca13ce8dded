#!/usr/bin/env bash
# models/porous-graphene-rebo.safetensors from the full porous set (docs/porous.md), one thread:
# every fifth frame (10 000 frames of 1 000 starting geometries, split by geometry with seed 0);
# the local_density tile net on 176 × 176 pixels (0.196 Å), f = 16, c = 16; 16 epochs, then
# seven fine-tuning rounds of 16 epochs (--init, batch 16, lr 3e-4, 2e-4, 1.5e-4, 1e-4, 7e-5,
# 5e-5, 3.5e-5): the network underfits, and every round of optimisation steps lowered the held-out error.
# Interrupted? Run the step again with --resume appended (each step has its own run folder).
set -euo pipefail
full=${DATA:-data/porous/porous-graphene-rebo.h5}
data=data/porous/porous-every5.h5
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -f "$data" ] || ednn import "$full" "$data" --frames ::5
geometry=(--grid 176x176 -f 16 -c 16 --net local_density)
ednn train "$data" -o runs/porous-ld.safetensors --run-dir runs/porous-ld "${geometry[@]}" --epochs 16
ednn train "$data" -o runs/por-ft.safetensors --run-dir runs/por-ft "${geometry[@]}" --epochs 16 \
  --init runs/porous-ld.safetensors --batch-size 16 --lr 3e-4
tune() {  # from, to, learning rate
  ednn train "$data" -o "$2" --run-dir "runs/$(basename "$2" .safetensors)" "${geometry[@]}" --epochs 16 \
    --init "$1" --batch-size 16 --lr "$3"
}
tune runs/por-ft.safetensors runs/por-ft2.safetensors 2e-4
tune runs/por-ft2.safetensors runs/por-ft3.safetensors 1.5e-4
tune runs/por-ft3.safetensors runs/por-ft4.safetensors 1e-4
tune runs/por-ft4.safetensors runs/por-ft5.safetensors 7e-5
tune runs/por-ft5.safetensors runs/por-ft6.safetensors 5e-5
tune runs/por-ft6.safetensors models/porous-graphene-rebo.safetensors 3.5e-5
