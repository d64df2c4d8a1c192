#!/usr/bin/env bash
# README command (1), the main job: installs what is missing, builds, trains an English->German Transformer on
# corpora/multi30k (joint BPE 8000), translates test_2016_flickr with beam search and prints its BLEU
# (sacreBLEU-compatible: 13a, cased). Under 45 minutes on 2 cores.
#
# Environment: XLAT_RUN (output directory, default runs/multi30k-en-de), XLAT_MAX_TIME (training seconds),
# XLAT_DIRECTION=de-en for German->English. Running it again continues an unfinished run (--resume) and then
# translates and scores; a finished run is only translated and scored again.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash tests/setup.sh
bin=${XLAT_BUILD:-build}/bin
data=corpora/multi30k
src=en tgt=de
[ "${XLAT_DIRECTION:-en-de}" = de-en ] && src=de tgt=en
out=${XLAT_RUN:-runs/multi30k-$src-$tgt}
mkdir -p "$out"

"$bin/xlat-train" \
  --train-src "$data/train.$src.gz" --train-tgt "$data/train.$tgt.gz" \
  --valid-src "$data/val.$src.gz" --valid-tgt "$data/val.$tgt.gz" \
  --vocab-size 8000 --out "$out" --resume \
  --preset small --max-tokens 2048 --lr 1e-3 --warmup-steps 600 --dropout 0.1 --label-smoothing 0.1 \
  --valid-freq 500 --valid-max-sentences 500 --save-freq 200 --keep-last 5 --average-last 5 --early-stopping 0 \
  --max-time "${XLAT_MAX_TIME:-2340}" --threads "$(nproc)" --seed 1

"$bin/xlat-decode" --model "$out/average.xlat" --spm "$out/spm.model" --beam 5 --length-penalty 1.0 \
  --threads "$(nproc)" --input "$data/test_2016_flickr.$src.gz" --output "$out/test_2016_flickr.$tgt"
zcat "$data/test_2016_flickr.$tgt.gz" >"$out/test_2016_flickr.ref.$tgt"
bleu=$("$bin/xlat-bleu" "$out/test_2016_flickr.ref.$tgt" -i "$out/test_2016_flickr.$tgt" -b)
echo "test_2016_flickr $src->$tgt: BLEU $bleu (13a, cased; $out/test_2016_flickr.$tgt), $(( ($(date +%s) - start) / 60 )) min in all"
