#!/usr/bin/env bash
# prepare.sh - reads English-German parallel corpora in the formats they are published in and writes clean plain
# parallel files for xlat-train: one training set, held-out sets drawn at random (seeded), and a report that says, per
# input, how many pairs were read, dropped and why, held out and kept.
#
# usage: bash corpora/prepare.sh --out DIR [OPTION]... INPUT...
#
# Inputs (any number, in any order; every file may be gzipped; NAME= is optional and names the input in the report
# and for --holdout-from, by default the first file's name without .gz and its last extension; pairs of files are
# SOURCE,TARGET in the --src/--tgt languages):
#   --tsv [NAME=]FILE          ManyThings/Tatoeba TSV: English<TAB>German, or English<TAB>German<TAB>attribution
#                              (the newer exports: the third field must start with CC-BY; it is not copied)
#   --plain [NAME=]SRC,TGT     plain text, line i of SRC translated by line i of TGT
#   --sgml [NAME=]SRC,TGT      WMT SGML (newstest2012-src.en.sgm, newstest2012-ref.de.sgm): <seg id="N">TEXT</seg>
#                              inside <doc docid="..">; segments paired by document and id
#   --xml [NAME=]FILE          WMT XML (newstest2021.de-en.xml): per <doc>, the <src lang=".."> block and the first
#                              <ref lang=".."> block; segments paired by document and id
# Options:
#   --out DIR                  output directory (created when missing); required
#   --src L, --tgt L           the two languages (default en and de; --tsv needs one of them to be en)
#   --holdout NAME=N[,NAME=N]  held-out sets of N pairs each, drawn at random from the clean unique pairs
#   --holdout-from NAME[,NAME] draw held-out pairs only from these inputs (default: all)
#   --exclude SRC,TGT          drop pairs that occur in this dev/test set (plain or gzip; repeatable)
#   --overlap pair|src|tgt|any what "occurs" means for --exclude and the held-out sets: the same pair (default), the
#                              same source side, the same target side, either side
#   --max-chars N              drop pairs with a side longer than N characters (default 0: no limit)
#   --seed N                   seed of the held-out draw (default 1)
#   -h, --help                 this text
# Every pair is cleaned and checked in this order, the first reason that applies dropping it: whitespace normalised
# (runs of space, TAB, CR, VT, FF become one space, none at either end; a UTF-8 BOM at the start of a file removed;
# entities decoded in SGML/XML), then dropped as "empty" (a side empty), "bad-utf8" (a side not valid UTF-8),
# "too-long" (--max-chars), "excluded" (occurs in an --exclude set), "duplicate" (the same pair as an earlier one:
# the first is kept), "held-out" (drawn into a held-out set), "excluded" again (with --overlap src/tgt/any: shares a
# side with a held-out pair); the rest is "train".
# Writes DIR/train.SRC, DIR/train.TGT, DIR/NAME.SRC and DIR/NAME.TGT per held-out set (pairs in input order) and
# DIR/prepare.log (the report, also printed on stderr). Every file is written under a temporary name in DIR and
# renamed when all are complete, so a failed run leaves the previous outputs as they were. Same inputs, same options
# and same seed give byte-identical files.
# Exit status: 0 done, 1 bad input (the message names the file, the line, what was expected and what was found), 2
# usage. Needs bash, gzip, GNU sort and awk (mawk or gawk); XLAT_PREPARE_SORT_MEM sets sort's buffer (default 1G).
set -euo pipefail
export LC_ALL=C # bytes, not characters: the same results in every locale, and fast sort/awk

self=prepare.sh
here=$(cd "$(dirname "$0")" && pwd)
helper=$here/prepare.awk
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "$self: $*" >&2; exit 1; }
usage_error() { echo "$self: $*" >&2; echo "(bash corpora/prepare.sh --help for the options)" >&2; exit 2; }

out="" src=en tgt=de holdout="" holdout_from="" overlap=pair max_chars=0 seed=1
kinds=() names=() files_a=() files_b=() excludes=()
add_input() { # KIND SPEC: NAME= split off unless the whole spec is an existing file
  local kind=$1 spec=$2 name="" a b
  if [[ ! -e $spec && $spec =~ ^([A-Za-z0-9_.-]+)=(.+)$ ]]; then name=${BASH_REMATCH[1]} spec=${BASH_REMATCH[2]}; fi
  case $kind in
    tsv | xml) a=$spec b="" ;;
    *) [[ $spec == *,* && $spec != *,*,* ]] || usage_error "--$kind expects SOURCE,TARGET (two files), found '$spec'"
       a=${spec%%,*} b=${spec#*,} ;;
  esac
  if [ -z "$name" ]; then name=$(basename "$a"); name=${name%.gz}; name=${name%.*}; fi
  kinds+=("$kind") names+=("$name") files_a+=("$a") files_b+=("$b")
}
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --tsv | --plain | --sgml | --xml) [ $# -ge 2 ] || usage_error "$1 needs a value"; add_input "${1#--}" "$2"; shift 2 ;;
    --out | --src | --tgt | --holdout | --holdout-from | --exclude | --overlap | --max-chars | --seed)
      [ $# -ge 2 ] || usage_error "$1 needs a value"
      case $1 in
        --out) out=$2 ;; --src) src=$2 ;; --tgt) tgt=$2 ;; --holdout) holdout=$2 ;; --holdout-from) holdout_from=$2 ;;
        --exclude) excludes+=("$2") ;; --overlap) overlap=$2 ;; --max-chars) max_chars=$2 ;; --seed) seed=$2 ;;
      esac
      shift 2 ;;
    *) usage_error "unknown argument '$1' (inputs are given with --tsv, --plain, --sgml or --xml)" ;;
  esac
done

# --- checks of the command line, before anything is read -------------------------------------------------------
[ -n "$out" ] || usage_error "--out DIR is required"
[ ${#kinds[@]} -gt 0 ] || usage_error "no input: give at least one --tsv, --plain, --sgml or --xml"
[[ $src =~ ^[a-z]{2,3}$ && $tgt =~ ^[a-z]{2,3}$ && $src != "$tgt" ]] ||
  usage_error "--src and --tgt expect two different language codes like en and de, found '$src' and '$tgt'"
[[ $overlap =~ ^(pair|src|tgt|any)$ ]] || usage_error "--overlap expects pair, src, tgt or any, found '$overlap'"
[[ $max_chars =~ ^[0-9]+$ ]] || usage_error "--max-chars expects a number of characters, found '$max_chars'"
[[ $seed =~ ^[0-9]+$ && ${#seed} -le 18 ]] || usage_error "--seed expects a non-negative integer, found '$seed'"
declare -A input_of=()
for i in "${!names[@]}"; do
  [ -z "${input_of[${names[$i]}]:-}" ] || usage_error "two inputs are named '${names[$i]}': name them with NAME=FILE"
  input_of[${names[$i]}]=$((i + 1))
  for f in "${files_a[$i]}" "${files_b[$i]}"; do
    [ -z "$f" ] || [ -f "$f" ] || die "$f: no such file (--${kinds[$i]} input '${names[$i]}')"
  done
  if [ "${kinds[$i]}" = tsv ] && [ "$src" != en ] && [ "$tgt" != en ]; then
    usage_error "--tsv reads English<TAB>other: one of --src/--tgt must be en"
  fi
done
sets=() sizes=() total_held=0
if [ -n "$holdout" ]; then
  IFS=, read -r -a specs <<<"$holdout"
  for s in "${specs[@]}"; do
    [[ $s =~ ^([A-Za-z0-9][A-Za-z0-9_.-]*)=([1-9][0-9]*)$ ]] ||
      usage_error "--holdout expects NAME=N[,NAME=N...] with N > 0, found '$s'"
    [ "${BASH_REMATCH[1]}" != train ] && [ "${BASH_REMATCH[1]}" != prepare ] ||
      usage_error "--holdout: '${BASH_REMATCH[1]}' is taken by the training set or the log"
    for t in "${sets[@]}"; do [ "$t" != "${BASH_REMATCH[1]}" ] || usage_error "--holdout names '$t' twice"; done
    sets+=("${BASH_REMATCH[1]}") sizes+=("${BASH_REMATCH[2]}") total_held=$((total_held + BASH_REMATCH[2]))
  done
fi
from_inputs=""
if [ -n "$holdout_from" ]; then
  [ -n "$holdout" ] || usage_error "--holdout-from without --holdout"
  IFS=, read -r -a specs <<<"$holdout_from"
  for s in "${specs[@]}"; do
    [ -n "${input_of[$s]:-}" ] || usage_error "--holdout-from: no input is named '$s' (inputs: ${names[*]})"
    from_inputs+=${from_inputs:+,}${input_of[$s]}
  done
fi
for e in "${excludes[@]}"; do
  [[ $e == *,* && $e != *,*,* ]] || usage_error "--exclude expects SOURCE,TARGET (two files), found '$e'"
  for f in "${e%%,*}" "${e#*,}"; do [ -f "$f" ] || die "$f: no such file (--exclude)"; done
done

mkdir -p -- "$out" || die "$out: cannot create the output directory"
work=$(mktemp -d "$out/.prepare.XXXXXX") || die "$out: cannot write there"
trap 'rm -rf -- "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start=$(date +%s.%N)
sortx() { sort -S "${XLAT_PREPARE_SORT_MEM:-1G}" -T "$work" "$@"; }
awkx() { awk -f "$helper" -v counts="$work/counts" -v maxc="$max_chars" -v overlap="$overlap" "$@"; }
: >"$work/counts"

# --- read: every input into records "INPUT<TAB>N<TAB>SOURCE<TAB>TARGET", in command-line order ----------------------
# read_pairs INPUT KIND A B [AWK ARGS]: writes records to stdout; returns 1 after the error message of a bad input
# (every step ends in "|| return 1": set -e does not act inside a function called before "||")
read_pairs() {
  local input=$1 kind=$2 a=$3 b=$4
  shift 4
  case $kind in
    tsv)
      gzip -dcf -- "$a" | awkx -v mode=tsv -v file="$a" -v input="$input" -v en_first="$en_first" "$@" || return 1 ;;
    plain)
      rm -f "$work/gzip-failed"
      gzip -dcf -- "$a" | awkx -v mode=plain -v file="$a" -v file2="$b" -v input="$input" "$@" \
        3< <(gzip -dcf -- "$b" || : >"$work/gzip-failed") || return 1
      [ ! -e "$work/gzip-failed" ] || { echo "$self: $b: cannot be read (gzip failed)" >&2; return 1; } ;;
    sgml | xml)
      if [ "$kind" = sgml ]; then
        gzip -dcf -- "$a" | awkx -v mode=sgml -v file="$a" >"$work/segs.src" || return 1
        gzip -dcf -- "$b" | awkx -v mode=sgml -v file="$b" >"$work/segs.tgt" || return 1
      else
        b=$a
        gzip -dcf -- "$a" | awkx -v mode=xml -v file="$a" -v lang="$src" >"$work/segs.src" || return 1
        gzip -dcf -- "$a" | awkx -v mode=xml -v file="$a" -v lang="$tgt" >"$work/segs.tgt" || return 1
      fi
      awkx -v mode=keyed -v file="$a" -v file2="$b" -v input="$input" "$@" <"$work/segs.src" 3<"$work/segs.tgt" || return 1 ;;
  esac
}
en_first=0
[ "$src" != en ] || en_first=1
# the exclusion list, cleaned like the inputs: "SOURCE<TAB>TARGET"
: >"$work/exclude"
for e in "${excludes[@]}"; do
  read_pairs 0 plain "${e%%,*}" "${e#*,}" -v maxc=0 | cut -f3- >>"$work/exclude" || exit 1
done
for i in "${!kinds[@]}"; do
  read_pairs $((i + 1)) "${kinds[$i]}" "${files_a[$i]}" "${files_b[$i]}" -v exclude="$work/exclude" >>"$work/records" ||
    exit 1
done

# --- deduplicate: sorted by text (stable, so the first of equal pairs stays first), repeats dropped, input order back
sortx -s -t $'\t' -k3,4 "$work/records" | awkx -v mode=dedup | sortx -t $'\t' -k1,1n -k2,2n >"$work/unique"
rm -f "$work/records"

# --- hold out: every eligible pair numbered by a seeded generator; the lowest numbers make the held-out sets ---------
held_files=""
if [ ${#sets[@]} -gt 0 ]; then
  set_specs=""
  for k in "${!sets[@]}"; do set_specs+=${set_specs:+,}${sets[$k]}=${sizes[$k]}; done
  for k in "${!sets[@]}"; do : >"$work/held.${sets[$k]}"; done
  awkx -v mode=rand -v seed="$seed" -v from="$from_inputs" <"$work/unique" | sortx -t $'\t' -k1,1n |
    awkx -v mode=split -v sets="$set_specs" -v dir="$work"
  have=0
  for k in "${!sets[@]}"; do have=$((have + $(wc -l <"$work/held.${sets[$k]}"))); done
  [ "$have" -eq "$total_held" ] ||
    die "--holdout asks for $total_held pairs, but only $have clean unique pairs are eligible${holdout_from:+ (from $holdout_from)}"
  for k in "${!sets[@]}"; do
    h=$work/held.${sets[$k]}
    sortx -t $'\t' -k1,1n -k2,2n -o "$h" "$h"
    awkx -v mode=write -v out_src="$work/${sets[$k]}.$src" -v out_tgt="$work/${sets[$k]}.$tgt" <"$h"
    held_files+=${held_files:+,}$h
  done
fi
: >"$work/train.$src"
: >"$work/train.$tgt"
awkx -v mode=train -v held="$held_files" -v out_src="$work/train.$src" -v out_tgt="$work/train.$tgt" <"$work/unique"

# --- report -------------------------------------------------------------------------------------------------------
describe=""
for i in "${!kinds[@]}"; do
  d="${names[$i]} (${kinds[$i]} ${files_a[$i]}${files_b[$i]:+,${files_b[$i]}})"
  describe+="$((i + 1))"$'\t'"$d"$'\n'
done
{
  printf '%s: %s-%s, --overlap %s, --max-chars %s, --seed %s\n' "$self" "$src" "$tgt" "$overlap" \
    "$([ "$max_chars" -gt 0 ] && echo "$max_chars" || echo "none")" "$seed"
  printf '%s' "$describe" | awk -F'\t' -v counts="$work/counts" '
    BEGIN {
      ncol = split("read empty bad-utf8 too-long excluded duplicate held-out train", col, " ")
      while ((getline line < counts) > 0) { split(line, f, "\t"); c[f[1], f[2]] += f[3] }
      for (k = 1; k <= ncol; k++) printf "%9s ", col[k]
      print " input"
    }
    {
      sum = 0
      for (k = 1; k <= ncol; k++) { n = c[$1, col[k]] + 0; printf "%9d ", n; tot[k] += n; if (k > 1) sum += n }
      note = ""
      if (($1, "columns") in c) note = c[$1, "columns"] == 3 ? "; CC-BY attribution column on every line" : "; no attribution column"
      print " " $2 note
      if (sum != c[$1, "read"]) { printf "prepare.sh: internal error: input %s: %d pairs read, %d accounted for\n", $1, c[$1, "read"], sum; bad = 1 }
    }
    END {
      for (k = 1; k <= ncol; k++) printf "%9d ", tot[k]
      print " all inputs"
      exit bad
    }' || echo "internal error" >"$work/report-failed"
  for k in "${!sets[@]}"; do
    printf 'held out: %s, %d pairs drawn at random (--seed %s) from %s\n' "${sets[$k]}" "${sizes[$k]}" "$seed" \
      "${holdout_from:-all inputs}"
  done
  [ ${#excludes[@]} -eq 0 ] || printf 'excluded: pairs that occur (--overlap %s) in %s\n' "$overlap" "${excludes[*]}"
  printf 'wrote train.%s and train.%s: %d pairs\n' "$src" "$tgt" "$(wc -l <"$work/train.$src")"
} >"$work/prepare.log"
[ ! -e "$work/report-failed" ] || { cat "$work/prepare.log" >&2; die "internal error: the counts do not add up"; }

# --- publish: every file complete under its temporary name, then renamed ----------------------------------------------
for k in "${!sets[@]}"; do
  mv -f -- "$work/${sets[$k]}.$src" "$out/${sets[$k]}.$src"
  mv -f -- "$work/${sets[$k]}.$tgt" "$out/${sets[$k]}.$tgt"
done
mv -f -- "$work/train.$src" "$out/train.$src"
mv -f -- "$work/train.$tgt" "$out/train.$tgt"
mv -f -- "$work/prepare.log" "$out/prepare.log"
cat "$out/prepare.log" >&2
lines=$(awk -F'\t' '$1 > 0 && $2 == "read" { n += $3 } END { print n + 0 }' "$work/counts")
awk -v s="$start" -v e="$(date +%s.%N)" -v n="$lines" \
  'BEGIN { t = e - s; printf "prepare.sh: %d pairs in %.1f s (%.0f pairs/s)\n", n, t, (t > 0 ? n / t : 0) }' >&2
