#!/usr/bin/env bash
# The lineage of translation models in one command: trains each generation on Multi30k for the same wall time and
# compares them on test_2016_flickr, German->English by default (the protocol of bentrevett/pytorch-seq2seq, the
# best-known public comparison: greedy search, lowercased BLEU):
#   1 lstm-context       LSTM encoder-decoder, the encoder's final state as the context of every step
#                        (Sutskever et al. 2014; Cho et al. 2014's context at every step)
#   2 gru-context        the same with GRU cells (Cho et al. 2014)
#   3 gru-additive       GRU with additive attention (Bahdanau et al. 2015)
#   4 lstm-general-feed  LSTM with general attention and input feeding (Luong et al. 2015)
#   5 transformer-small  the Transformer (Vaswani et al. 2017), 3+3 layers, d 256
# Writes $out/lineage.md (architecture, parameters, updates, target tokens/s, BLEU cased and lowercased, chrF),
# $out/lineage.svg (dev BLEU against training minutes, one line per generation) and one attention heatmap per
# attention model ($out/attention-NAME.svg, the first test sentence).
#
# Environment: XLAT_LINEAGE_MINUTES (training minutes per generation, default 15), XLAT_RUN (default
# runs/lineage), XLAT_DIRECTION (de-en, default, or en-de), XLAT_LINEAGE_ONLY (space-separated generation names to
# train, default all). A generation whose run finished is not trained again (delete its folder to retrain).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
bin=${XLAT_BUILD:-build}/bin
data=corpora/multi30k
src=de tgt=en
[ "${XLAT_DIRECTION:-de-en}" = en-de ] && src=en tgt=de
out=${XLAT_RUN:-runs/lineage}
minutes=${XLAT_LINEAGE_MINUTES:-15}
mkdir -p "$out"

# One joint BPE vocabulary for every generation, so their outputs differ only by the model.
[ -f "$out/spm.model" ] || "$bin/xlat-spm" train --input "$data/train.de.gz,$data/train.en.gz" \
  --model-prefix "$out/spm" --vocab-size 8000

# Recurrent generations share one recipe: hidden and embedding size 256 (tied), one bidirectional encoder layer,
# dropout 0.3, gradient clipping at 1 (recurrent nets' exploding gradients, Pascanu et al. 2013).
rnn="--d-model 256 --emb-dim 256 --tied-embeddings 1 --enc-layers 1 --bidirectional 1 --dropout 0.3 --clip-norm 1"
declare -A flags=(
  [lstm-context]="--arch lstm --attention none $rnn --lr 1e-3 --warmup-steps 400"
  [gru-context]="--arch gru --attention none $rnn --lr 1e-3 --warmup-steps 400"
  [gru-additive]="--arch gru --attention additive $rnn --lr 1e-3 --warmup-steps 400"
  [lstm-general-feed]="--arch lstm --attention general --input-feeding 1 $rnn --lr 1e-3 --warmup-steps 400"
  [transformer-small]="--preset small --lr 1e-3 --warmup-steps 600 --dropout 0.1"
)
order="lstm-context gru-context gru-additive lstm-general-feed transformer-small"
only=${XLAT_LINEAGE_ONLY:-$order}

zcat "$data/test_2016_flickr.$tgt.gz" >"$out/test.ref.$tgt"
zcat "$data/test_2016_flickr.$src.gz" | sed -n 1p >"$out/first.$src" # sed reads to the end: no SIGPIPE
table="| generation | architecture | parameters | updates | target tokens/s | BLEU greedy, lowercased | BLEU greedy | BLEU beam 5 | chrF beam 5 |
|---|---|---:|---:|---:|---:|---:|---:|---:|"
series=()
for g in $order; do
  case " $only " in *" $g "*) ;; *) continue ;; esac
  run=$out/$g
  mkdir -p "$run"
  # shellcheck disable=SC2086 # the flags are word lists
  "$bin/xlat-train" ${flags[$g]} \
    --train-src "$data/train.$src.gz" --train-tgt "$data/train.$tgt.gz" \
    --valid-src "$data/val.$src.gz" --valid-tgt "$data/val.$tgt.gz" --spm "$out/spm.model" --out "$run" --resume \
    --max-tokens 2048 --label-smoothing 0.1 --valid-freq 200 --valid-max-sentences 500 --save-freq 200 \
    --early-stopping 0 --max-time "$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')" --threads "$(nproc)" --seed 1 2>&1 | tee "$run/train.log" |
    grep -E "parameters|validation|stopping" || true
  translate() { # translate BEAM OUTPUT [extra flags]
    local beam=$1 output=$2
    shift 2
    "$bin/xlat-decode" --model "$run/best.xlat" --spm "$out/spm.model" --beam "$beam" --threads "$(nproc)" --quiet \
      --input "$data/test_2016_flickr.$src.gz" --output "$output" "$@"
  }
  translate 1 "$run/test.greedy.$tgt"
  translate 5 "$run/test.beam5.$tgt"
  ref=$out/test.ref.$tgt
  lc=$("$bin/xlat-bleu" "$ref" -i "$run/test.greedy.$tgt" -lc -b)
  cased=$("$bin/xlat-bleu" "$ref" -i "$run/test.greedy.$tgt" -b)
  beam=$("$bin/xlat-bleu" "$ref" -i "$run/test.beam5.$tgt" -b)
  chrf=$("$bin/xlat-bleu" "$ref" -i "$run/test.beam5.$tgt" -m chrf -b)
  # the model line of the log: "model: DESCRIPTION, vocabulary V: 3.20M parameters"
  model=$(grep -m 1 '^model: ' "$run/train.log")
  params=$(sed 's/.*: \([0-9.]*M\) parameters/\1/' <<<"$model")
  arch=$(sed 's/^model: \(.*\), vocabulary.*/\1/' <<<"$model")
  # updates: the last logged step; tokens/s: the median of the logged rates
  updates=$(awk -F'\t' 'NR > 1 && $1 != "" { s = $1 } END { print s }' "$run/train.tsv")
  tps=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "tokens_per_s") c = i; next }
    c && $c > 0 { print $c }' "$run/train.tsv" | sort -n |
    awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
  table+=$'\n'"| $g | $arch | $params | $updates | $tps | $lc | $cased | $beam | $chrf |"
  series+=("$run=$g")
  case $g in *context) ;; *)
    "$bin/xlat-decode" --model "$run/best.xlat" --spm "$out/spm.model" --beam 1 --quiet --input "$out/first.$src" \
      --output "$run/first.$tgt" --attention-svg "$out/attention-$g.svg" ;;
  esac
  echo "$g: test_2016_flickr $src->$tgt BLEU lowercased greedy $lc, cased greedy $cased, beam 5 $beam, chrF $chrf"
done

{
  echo "# The lineage on Multi30k, $src->$tgt, $minutes minutes of training each"
  echo
  echo "Machine: $(nproc) cores, $("$bin/xlat-train" --version | sed 's/^xlat-train [^ ]* (\(.*\))$/\1/'). Best dev-BLEU model"
  echo "of each run (validated every 200 updates on 500 dev sentences, greedy) on test_2016_flickr (1000 sentences);"
  echo "BLEU is sacreBLEU's (13a), chrF sacreBLEU's default."
  echo
  echo "$table"
} >"$out/lineage.md"
"$bin/xlat-train" plot --output "$out/lineage.svg" --metric dev_bleu \
  --title "Multi30k $src->$tgt: dev BLEU (greedy) against training minutes" "${series[@]}"
cat "$out/lineage.md"
echo "wrote $out/lineage.md, $out/lineage.svg and the attention maps $out/attention-*.svg"
