#!/usr/bin/env bash
# The general-domain recipe in one command: pretrains an English->German Transformer on Multi30k + Tatoeba (joint
# BPE), fine-tunes it on the WMT news test sets 2008-2011 (xlat-train --finetune), and reports BLEU and chrF (beam 5,
# sacreBLEU-compatible: 13a, cased) on newstest2013 (never trained on), Multi30k test_2016_flickr and a held-out
# Tatoeba test split, before and after fine-tuning, with the wall time of each stage: RUN/report.md, also printed.
#
# Stages (each writes RUN/STAGE.done when finished and is skipped on the next run; an unfinished training continues
# with --resume; delete a .done file, and those of the stages after it, to run a stage again):
#   prepare   corpora/prepare.sh: Tatoeba (deu.txt) + Multi30k train -> RUN/data/train; tatoeba-dev and tatoeba-test
#             (2000 pairs each, drawn from Tatoeba only; --overlap on the English side keeps every translation of
#             their English sentences out of training); Multi30k val and test_2016_flickr and newstest2012/2013 excluded from
#             training. News 2008-2011 -> RUN/news/train (newstest2012/2013 excluded). Dev = the first
#             XLAT_DEV_LINES (500) pairs of newstest2012, then of tatoeba-dev (validation translates all of it,
#             greedy: about 23k target tokens, seconds with the small preset).
#   vocab     xlat-spm train: joint BPE of XLAT_VOCAB pieces on both sides of RUN/data/train.
#   pretrain  xlat-train for XLAT_PRETRAIN_MINUTES, dev BLEU and chrF; then the average of the last quarter's saves and
#             best.xlat translate the dev set (beam 5) and the better one becomes RUN/pretrained.xlat.
#   finetune  xlat-train --finetune RUN/pretrained.xlat on the news data for XLAT_FINETUNE_MINUTES, lr 3e-4 (a third
#             of pretraining's), dev newstest2012 (its first 500 sentences translated); RUN/finetune/best.xlat.
#   evaluate-pretrained, evaluate-finetuned   xlat-decode (beam 5) + xlat-bleu -m bleu chrf on the three test sets.
#
# Environment: XLAT_RUN (default runs/general-en-de), XLAT_DIRECTION (en-de, default, or de-en), XLAT_CORPORA (the
# shared corpora directory: tatoeba_manythings/deu.txt and wmt/{news-test2008,newstest2009,...,newstest2013}.{en,de};
# default ../shared/corpora when it exists), XLAT_PRETRAIN_MINUTES (default 60), XLAT_FINETUNE_MINUTES (default 10),
# XLAT_VOCAB (default 8000), XLAT_PRESET (default small), XLAT_DEV_LINES (default 500), XLAT_TEST_LINES (default 0:
# whole test sets; N scores the first N lines of each, for a quick check of the recipe; read by the prepare stage).
# Multi30k comes from corpora/multi30k.
#
# Budget: about 75 minutes on 2 cores in all: 60 min of pretraining, 10 min of fine-tuning (both as one MPI rank
# per core, train/ranks.sh, the global batch 2048 target tokens as in the main job), and about 3 min of preparing,
# encoding, selecting and translating the 2 x 6000 test sentences. It is the budget the recipe was run with end to
# end (README: its scores, stage times and dev curve), short enough to run in one sitting beside the test suite.
# Pretraining gets most of it because that is where the data is: 190k pairs, 2.0M target tokens a pass, about 6
# passes in 60 min at the small preset's ~3300 tokens/s. The dev curve (RUN/pretrain/train.tsv) shows what more time
# would give: XLAT_PRETRAIN_MINUTES=150 still keeps the job under 3 hours. Fine-tuning on 10k news pairs (0.36M
# target tokens a pass) needs few updates: 10 min are about 5 passes, and best.xlat (dev newstest2012) guards
# against over-fitting them.
#
# Vocabulary (XLAT_VOCAB), measured on 2026-12-01 on RUN/data/train (192,500 pairs) with xlat-spm train; tokens per
# sentence of tatoeba-dev de / newstest2012 de (first 500 lines), and the share of pieces that occur fewer than 50
# times in the training text (embeddings that get few updates):
#   4000: 10.7 / 40.5 tokens,  5% rare      16000: 8.7 / 32.0 tokens, 60% rare
#   8000:  9.5 / 36.1 tokens, 12% rare      32000: 8.3 / 28.9 tokens, 83% rare
# Going from 8000 to 16000 shortens sequences by only 8% (Tatoeba) to 11% (news) while the share of rare pieces
# jumps from 12% to 60%; from 4000 to 8000 they shorten as much for few rare pieces. A bigger output layer is also
# slower. <unk> is 0 on Tatoeba and 0.2-0.3% of news tokens
# (characters never seen in Tatoeba or Multi30k) at every size. Not measured: dev BLEU per vocabulary size.
#
# Model size (XLAT_PRESET), measured the same day: 75 s of training each on the same data (vocabulary 8000, 2048
# tokens a batch, 2 threads, the machine shared with a CI run, so the absolute speeds are about half an idle
# machine's): tiny (1.95M parameters) ~4800 target tokens/s, small (7.58M) ~1400, base (48.2M) ~270 (10 updates in
# 75 s). In 60 minutes on an idle machine (small ~3300 tokens/s as two ranks) that is about 6 passes over the 2.0M
# target tokens for small, about 1 for base and about 20 for tiny: base would stop far from converged, tiny has a
# quarter of small's capacity. small is the preset this budget can train. Not measured: dev BLEU of each preset
# after the full budget.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
bin=${XLAT_BUILD:-build}/bin
case ${XLAT_DIRECTION:-en-de} in
  en-de) src=en tgt=de ;;
  de-en) src=de tgt=en ;;
  *) echo "general.sh: XLAT_DIRECTION expects en-de or de-en, found '$XLAT_DIRECTION'" >&2; exit 2 ;;
esac
out=${XLAT_RUN:-runs/general-$src-$tgt}
pretrain_minutes=${XLAT_PRETRAIN_MINUTES:-60}
finetune_minutes=${XLAT_FINETUNE_MINUTES:-10}
vocab=${XLAT_VOCAB:-8000}
preset=${XLAT_PRESET:-small}
dev_lines=${XLAT_DEV_LINES:-500}
test_lines=${XLAT_TEST_LINES:-0}
m30k=corpora/multi30k
. train/ranks.sh # training: ranks, launch and threads per rank; each rank takes 2048 / ranks target tokens a step
train_threads=$threads threads=$(nproc) # decoding uses every core

# The bigger corpora stay outside the repository.
corpora=${XLAT_CORPORA:-}
if [ -z "$corpora" ] && [ -d ../shared/corpora ]; then corpora=../shared/corpora; fi
wmt_years="news-test2008 newstest2009 newstest2010 newstest2011 newstest2012 newstest2013"
needed="tatoeba_manythings/deu.txt"
for y in $wmt_years; do needed+=" wmt/$y.en wmt/$y.de"; done
missing=""
for f in $needed; do [ -n "$corpora" ] && [ -f "$corpora/$f" ] || missing+=" $f"; done
if [ -n "$missing" ]; then
  if [ -z "$corpora" ]; then
    echo "general.sh: no corpora directory: ../shared/corpora does not exist; set XLAT_CORPORA to the directory" \
      "of the English-German corpora" >&2
  else
    echo "general.sh: the corpora directory '$corpora' (XLAT_CORPORA, default ../shared/corpora) lacks:$missing" >&2
  fi
  echo "general.sh: XLAT_CORPORA needs: $needed (plain text; deu.txt is ManyThings' English<TAB>German)" >&2
  exit 2
fi
for v in "$pretrain_minutes" "$finetune_minutes"; do
  [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "general.sh: minutes expect a number, found '$v'" >&2; exit 2; }
done
seconds() { awk -v m="$1" 'BEGIN { printf "%d", m * 60 }'; }
# xlat-train exits 0 after Ctrl-C (it saves last.xlat first), and bash goes on when its child exits normally: a
# training stage is finished only when its last.xlat has the training time asked for.
trained() { # trained RUN SECONDS
  "$bin/xlat-train" info --json "$1/last.xlat" |
    awk -F': *' -v s="$2" '/"training_seconds"/ { t = $2 + 0 } END { exit !(t >= s) }' && return
  log_time
  echo "general.sh: $1 stopped before its $2 s of training (interrupted?); run the script again to continue" >&2
  exit 130
}
mkdir -p "$out"

# A stage runs unless RUN/NAME.done exists; its wall time is added to RUN/times.tsv, also when it is interrupted
# (the trap, and trained() below, stop the script there instead of going on with an unfinished model; running the
# script again continues).
stage="" stage_start=0
log_time() { [ -z "$stage" ] || printf '%s\t%s\n' "$stage" $(($(date +%s) - stage_start)) >>"$out/times.tsv"; }
trap 'log_time; echo "general.sh: interrupted in stage $stage; run it again to continue" >&2; exit 130' INT TERM
run_stage() { # run_stage NAME FUNCTION
  if [ -e "$out/$1.done" ]; then
    echo "general.sh: $1: done ($out/$1.done)"
    return
  fi
  echo "general.sh: $1"
  stage=$1 stage_start=$(date +%s)
  "$2"
  log_time
  stage=""
  : >"$out/$1.done"
}

prepare() {
  # "occurs in" a held-out or excluded set means: shares the English side, in both directions (Tatoeba has several
  # German translations of many English sentences), so that both directions train on the same pairs
  local c=$corpora english=src
  [ "$src" = en ] || english=tgt
  bash corpora/prepare.sh --out "$out/data" --src "$src" --tgt "$tgt" \
    --tsv "tatoeba=$c/tatoeba_manythings/deu.txt" --plain "m30k=$m30k/train.$src.gz,$m30k/train.$tgt.gz" \
    --holdout tatoeba-dev=2000,tatoeba-test=2000 --holdout-from tatoeba \
    --exclude "$m30k/val.$src.gz,$m30k/val.$tgt.gz" \
    --exclude "$m30k/test_2016_flickr.$src.gz,$m30k/test_2016_flickr.$tgt.gz" \
    --exclude "$c/wmt/newstest2012.$src,$c/wmt/newstest2012.$tgt" \
    --exclude "$c/wmt/newstest2013.$src,$c/wmt/newstest2013.$tgt" --overlap "$english" --max-chars 300 --seed 1
  local news=()
  for y in news-test2008 newstest2009 newstest2010 newstest2011; do
    news+=(--plain "$y=$c/wmt/$y.$src,$c/wmt/$y.$tgt")
  done
  bash corpora/prepare.sh --out "$out/news" --src "$src" --tgt "$tgt" "${news[@]}" \
    --exclude "$c/wmt/newstest2012.$src,$c/wmt/newstest2012.$tgt" \
    --exclude "$c/wmt/newstest2013.$src,$c/wmt/newstest2013.$tgt" --overlap "$english" --seed 1
  local d=$out/data l t
  for l in "$src" "$tgt"; do
    { head -n "$dev_lines" "$c/wmt/newstest2012.$l"; head -n "$dev_lines" "$d/tatoeba-dev.$l"; } >"$d/dev.$l"
    cp "$c/wmt/newstest2012.$l" "$d/newstest2012.$l"
    cp "$c/wmt/newstest2013.$l" "$d/newstest2013.$l"
    zcat "$m30k/test_2016_flickr.$l.gz" >"$d/test_2016_flickr.$l"
    if [ "$test_lines" != 0 ]; then # a smoke test: the first lines of each test set only
      for t in newstest2013 test_2016_flickr tatoeba-test; do
        head -n "$test_lines" "$d/$t.$l" >"$d/$t.$l.tmp"
        mv "$d/$t.$l.tmp" "$d/$t.$l"
      done
    fi
  done
}

make_vocab() {
  "$bin/xlat-spm" train --input "$out/data/train.$src,$out/data/train.$tgt" --model-prefix "$out/spm" \
    --vocab-size "$vocab"
}

translate() { # translate MODEL INPUT OUTPUT: beam 5; an OUTPUT (written atomically) newer than MODEL is kept
  if [ ! -s "$3" ] || [ ! "$3" -nt "$1" ]; then
    "$bin/xlat-decode" --model "$1" --spm "$out/spm.model" --beam 5 --length-penalty 1.0 \
      --threads "$threads" --quiet --input "$2" --output "$3"
  fi
}
scores() { # scores REF HYP: prints "BLEU chrF"
  "$bin/xlat-bleu" "$1" -i "$2" -m bleu chrf -b | tr -d '[],' | xargs
}

pretrain() {
  local run=$out/pretrain d=$out/data
  "${launch[@]}" "$bin/xlat-train" \
    --train-src "$d/train.$src" --train-tgt "$d/train.$tgt" --valid-src "$d/dev.$src" --valid-tgt "$d/dev.$tgt" \
    --spm "$out/spm.model" --out "$run" --resume \
    --preset "$preset" --max-tokens $((2048 / ranks)) --lr 1e-3 --warmup-steps 600 --dropout 0.1 --label-smoothing 0.1 \
    --valid-metrics bleu chrf --valid-freq 1000 --save-freq 500 --keep-last 12 --early-stopping 0 \
    --max-time "$(seconds "$pretrain_minutes")" --threads "$train_threads" --seed 1
  trained "$run" "$(seconds "$pretrain_minutes")"
  # The average of the saves of the last quarter of the updates (at least two) against best.xlat, on the whole dev
  # set with beam 5, as in train/multi30k.sh.
  local saves final window="" candidates=best
  saves=$(find "$run" -maxdepth 1 -name 'step-*.xlat' | sed -n 's/.*\/step-\([0-9]*\)\.xlat$/\1/p' | sort -n)
  if [ "$(grep -c . <<<"$saves")" -ge 2 ]; then
    final=$(tail -n 1 <<<"$saves")
    window=$(awk -v f="$final" '$1 >= 0.75 * f' <<<"$saves")
    [ "$(wc -l <<<"$window")" -ge 2 ] || window=$(tail -n 2 <<<"$saves")
    # shellcheck disable=SC2046,SC2001 # one path per save
    "$bin/xlat-train" average --output "$run/average.xlat" $(sed "s|.*|$run/step-&.xlat|" <<<"$window")
    candidates="average best"
  fi
  local m b kept="" best=-1 report="" averaged="none (fewer than 2 saves)"
  [ -z "$window" ] || averaged=${window//$'\n'/ }
  for m in $candidates; do
    translate "$run/$m.xlat" "$d/dev.$src" "$run/dev.$m.$tgt"
    b=$("$bin/xlat-bleu" "$d/dev.$tgt" -i "$run/dev.$m.$tgt" -b)
    report+="$m $b, "
    if awk -v b="$b" -v k="$best" 'BEGIN { exit !(b > k) }'; then kept=$m best=$b; fi
  done
  cp "$run/$kept.xlat" "$out/pretrained.xlat.tmp"
  mv "$out/pretrained.xlat.tmp" "$out/pretrained.xlat"
  echo "$kept" >"$out/pretrained.from"
  echo "general.sh: dev BLEU (beam 5): ${report%, }; averaged steps $averaged; pretrained.xlat = $kept.xlat"
}

finetune() {
  local run=$out/finetune d=$out/data
  "${launch[@]}" "$bin/xlat-train" --finetune "$out/pretrained.xlat" \
    --train-src "$out/news/train.$src" --train-tgt "$out/news/train.$tgt" \
    --valid-src "$d/newstest2012.$src" --valid-tgt "$d/newstest2012.$tgt" \
    --spm "$out/spm.model" --out "$run" --resume \
    --max-tokens $((2048 / ranks)) --lr 3e-4 --warmup-steps 200 --dropout 0.1 --label-smoothing 0.1 \
    --valid-metrics bleu chrf --valid-freq 200 --valid-max-sentences 500 --save-freq 200 --early-stopping 0 \
    --max-time "$(seconds "$finetune_minutes")" --threads "$train_threads" --seed 1
  trained "$run" "$(seconds "$finetune_minutes")"
}

tests="newstest2013 test_2016_flickr tatoeba-test"
evaluate() { # evaluate NAME MODEL
  mkdir -p "$out/eval"
  local t
  for t in $tests; do
    translate "$2" "$out/data/$t.$src" "$out/eval/$1.$t.$tgt"
    echo "$t $(scores "$out/data/$t.$tgt" "$out/eval/$1.$t.$tgt")" >>"$out/eval/$1.scores.tmp"
  done
  mv "$out/eval/$1.scores.tmp" "$out/eval/$1.scores"
}
evaluate_pretrained() { rm -f "$out/eval/pretrained.scores.tmp"; evaluate pretrained "$out/pretrained.xlat"; }
evaluate_finetuned() { rm -f "$out/eval/finetuned.scores.tmp"; evaluate finetuned "$out/finetune/best.xlat"; }

run_stage prepare prepare
run_stage vocab make_vocab
run_stage pretrain pretrain
run_stage finetune finetune
run_stage evaluate-pretrained evaluate_pretrained
run_stage evaluate-finetuned evaluate_finetuned

# --- report ---------------------------------------------------------------------------------------------------------
score() { awk -v t="$2" -v k="$3" '$1 == t { print $(k + 1) }' "$out/eval/$1.scores"; }
{
  echo "# General-domain $src→$tgt: pretrained on Multi30k + Tatoeba, fine-tuned on news 2008–2011"
  echo
  echo "Preset $preset, joint BPE $vocab; pretraining $pretrain_minutes min (pretrained.xlat = the" \
    "$(cat "$out/pretrained.from") model), fine-tuning $finetune_minutes min (finetune/best.xlat, dev newstest2012)." \
    "Beam 5, length penalty 1.0; BLEU 13a cased and chrF2, sacreBLEU-compatible (xlat-bleu)."
  echo
  echo "| test set | sentences | BLEU before | BLEU after | chrF before | chrF after |"
  echo "|---|---:|---:|---:|---:|---:|"
  for t in $tests; do
    echo "| $t | $(wc -l <"$out/data/$t.$src") | $(score pretrained "$t" 1) | $(score finetuned "$t" 1) |" \
      "$(score pretrained "$t" 2) | $(score finetuned "$t" 2) |"
  done
  echo
  echo "| stage | wall time |"
  echo "|---|---:|"
  for s in prepare vocab pretrain finetune evaluate-pretrained evaluate-finetuned; do
    awk -F'\t' -v s="$s" '$1 == s { t += $2 } END { printf "| %s | %d min %02d s |\n", s, t / 60, t % 60 }' \
      "$out/times.tsv"
  done
  awk -F'\t' '{ t += $2 } END { printf "| all stages | %d min %02d s |\n", t / 60, t % 60 }' "$out/times.tsv"
  echo
  echo "Training data: $(wc -l <"$out/data/train.$src") pairs (pretraining), $(wc -l <"$out/news/train.$src")" \
    "pairs (fine-tuning); details in $out/data/prepare.log and $out/news/prepare.log."
} >"$out/report.md"
cat "$out/report.md"
