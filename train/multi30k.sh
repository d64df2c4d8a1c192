#!/usr/bin/env bash
# README command (1), the main job: installs what is missing, builds, trains an English->German Transformer on
# corpora/multi30k (joint BPE 8000), translates test_2016_flickr with beam search and prints its BLEU
# (sacreBLEU-compatible: 13a, cased) with the model of the three (last, best, average of the last quarter's saves)
# that scores best on the dev set. Under 40 minutes on 2 cores.
#
# Environment: XLAT_RUN (output directory, default runs/multi30k-en-de), XLAT_MAX_TIME (training seconds, default
# 2250), XLAT_DROPOUT (default 0.1), XLAT_DIRECTION=de-en for German->English. Running it again continues an
# unfinished run (--resume) and then selects, translates and scores; a finished run is only scored again.
# XLAT_RANKS: MPI ranks (default one per core when mpirun is installed; 1 trains in one process).
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
dropout=${XLAT_DROPOUT:-0.1}
. train/ranks.sh # ranks, threads, launch: the global batch of 2048 target tokens is split between the ranks
"${launch[@]}" "$bin/xlat-train" \
  --train-src "$data/train.$src.gz" --train-tgt "$data/train.$tgt.gz" \
  --valid-src "$data/val.$src.gz" --valid-tgt "$data/val.$tgt.gz" \
  --vocab-size 8000 --out "$out" --resume \
  --preset small --max-tokens $((2048 / ranks)) --lr 1e-3 --warmup-steps 600 --dropout "$dropout" \
  --label-smoothing 0.1 --valid-freq 500 --valid-max-sentences 500 --save-freq 200 --keep-last 12 --early-stopping 0 \
  --max-time "${XLAT_MAX_TIME:-2250}" --threads "$threads" --seed 1

# Average the saves of the last quarter of the updates (at least two): averaging helps over the flat end of
# training only, and how many updates fit in the time depends on the machine. Then keep whichever of the last,
# the best and the averaged model translates the whole dev set best (beam 5, as the test set below).
saves=$(ls "$out"/step-*.xlat | sed 's/.*step-\([0-9]*\)\.xlat/\1/' | sort -n)
final=$(tail -n 1 <<<"$saves")
window=$(awk -v f="$final" '$1 >= 0.75 * f' <<<"$saves")
[ "$(wc -l <<<"$window")" -ge 2 ] || window=$(tail -n 2 <<<"$saves")
"$bin/xlat-train" average --output "$out/average.xlat" $(sed "s|.*|$out/step-&.xlat|" <<<"$window")
translate() { # translate MODEL INPUT.gz OUTPUT
  "$bin/xlat-decode" --model "$1" --spm "$out/spm.model" --beam 5 --length-penalty 1.0 --threads "$(nproc)" --quiet \
    --input "$2" --output "$3"
}
zcat "$data/val.$tgt.gz" >"$out/val.ref.$tgt"
kept="" best_bleu=-1 report=""
for m in average best last; do
  translate "$out/$m.xlat" "$data/val.$src.gz" "$out/val.$m.$tgt"
  b=$("$bin/xlat-bleu" "$out/val.ref.$tgt" -i "$out/val.$m.$tgt" -b)
  report+="$m $b, "
  if awk -v b="$b" -v k="$best_bleu" 'BEGIN { exit !(b > k) }'; then kept=$m best_bleu=$b; fi
done
echo "dev BLEU (val, beam 5): ${report%, }; averaged steps $(echo $window); keeping $out/$kept.xlat"

translate "$out/$kept.xlat" "$data/test_2016_flickr.$src.gz" "$out/test_2016_flickr.$tgt"
zcat "$data/test_2016_flickr.$tgt.gz" >"$out/test_2016_flickr.ref.$tgt"
bleu=$("$bin/xlat-bleu" "$out/test_2016_flickr.ref.$tgt" -i "$out/test_2016_flickr.$tgt" -b)
echo "test_2016_flickr $src->$tgt: BLEU $bleu (13a, cased; $kept.xlat; $out/test_2016_flickr.$tgt)," \
  "$(( ($(date +%s) - start) / 60 )) min in all"
