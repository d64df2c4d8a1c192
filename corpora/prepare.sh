#!/usr/bin/env bash
# prepare.sh - prepares the bigger English-German corpora, which stay outside the repository, for xlat-train.
#
#   bash corpora/prepare.sh SOURCE_DIR [OUT_DIR]
#
# SOURCE_DIR is laid out like the shared corpus directory (see corpora/README.md): any of
#   wmt/newstest2009..2013.{en,de}, wmt/news-test2008.{en,de}   WMT news test sets (plain or .gz)
#   tatoeba_manythings/deu-eng.{en,de} or tatoeba_manythings/deu.txt (English<TAB>German)
#   multi30k/train.{en,de}.gz                                   (defaults to the shipped corpora/multi30k)
# OUT_DIR (default runs/corpora, ignored by git) receives gzip files, line i of X.en.gz translating line i of X.de.gz:
#   newstest2013.{en,de}.gz      the standard WMT dev set
#   news-dev.{en,de}.gz          news-test2008 + newstest2009..2012, extra in-domain dev/tuning data; news-test2008.de's
#                                Windows-1252 quotes and dashes read as Latin-1 (U+0084 U+0093 U+0094 U+0096) are
#                                mapped back to „ “ ” –
#   tatoeba.{en,de}.gz           Tatoeba sentence pairs
#   multi30k-tatoeba.{en,de}.gz  Multi30k train followed by Tatoeba: a bigger training set
# and MANIFEST.tsv (file, lines, sha256). Every pair of files is checked for equal line counts and valid UTF-8;
# a set whose files are missing is skipped with a message. Exit status: 0 ok, 1 a check failed, 2 usage.
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in --help | -h) usage; exit 0 ;; esac
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage >&2; exit 2; fi
export LC_ALL=C # byte-wise sed and cut
here=$(cd "$(dirname "$0")" && pwd)
src=$1
out=${2:-$here/../runs/corpora}
[ -d "$src" ] || { echo "prepare.sh: $src: not a directory" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Prints a file's text whether it is plain or gzip, with a final newline (so concatenated files never merge lines).
text() { gzip -dcf -- "$1" | sed -e '$a\'; }

# Finds NAME or NAME.gz under the source directory; prints the path or nothing.
find_file() {
  if [ -f "$src/$1" ]; then echo "$src/$1"; elif [ -f "$src/$1.gz" ]; then echo "$src/$1.gz"; fi
}

# check_pair NAME: equal line counts and valid UTF-8 on both sides of OUT/NAME.{en,de}.gz, then a manifest entry.
check_pair() {
  local n_en n_de f
  n_en=$(gzip -dc "$out/$1.en.gz" | wc -l)
  n_de=$(gzip -dc "$out/$1.de.gz" | wc -l)
  if [ "$n_en" != "$n_de" ]; then
    echo "prepare.sh: $1: $n_en English lines but $n_de German lines" >&2
    exit 1
  fi
  for f in "$out/$1.en.gz" "$out/$1.de.gz"; do
    if ! gzip -dc "$f" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1; then
      echo "prepare.sh: $f: invalid UTF-8" >&2
      exit 1
    fi
    printf '%s\t%s\t%s\n' "$(basename "$f")" "$n_en" "$(sha256sum "$f" | cut -d' ' -f1)" >>"$out/MANIFEST.tsv.tmp"
  done
  echo "prepare.sh: $1: $n_en pairs"
}

# Writes stdin gzipped to OUT/NAME atomically.
put() { gzip -n -9 >"$out/$1.tmp" && mv "$out/$1.tmp" "$out/$1"; }

: >"$out/MANIFEST.tsv.tmp"

# WMT news: the standard dev set, and the earlier years as extra dev data.
if [ -n "$(find_file wmt/newstest2013.en)" ] && [ -n "$(find_file wmt/newstest2013.de)" ]; then
  text "$(find_file wmt/newstest2013.en)" | put newstest2013.en.gz
  text "$(find_file wmt/newstest2013.de)" | put newstest2013.de.gz
  check_pair newstest2013
else
  echo "prepare.sh: skipping newstest2013: $src/wmt/newstest2013.{en,de} not found"
fi
years=()
for y in news-test2008 newstest2009 newstest2010 newstest2011 newstest2012; do
  if [ -n "$(find_file "wmt/$y.en")" ] && [ -n "$(find_file "wmt/$y.de")" ]; then years+=("$y"); fi
done
if [ ${#years[@]} -gt 0 ]; then
  for l in en de; do
    for y in "${years[@]}"; do text "$(find_file "wmt/$y.$l")"; done |
      sed -e 's/\xc2\x84/\xe2\x80\x9e/g' -e 's/\xc2\x93/\xe2\x80\x9c/g' -e 's/\xc2\x94/\xe2\x80\x9d/g' \
          -e 's/\xc2\x96/\xe2\x80\x93/g' | put "news-dev.$l.gz"
  done
  echo "prepare.sh: news-dev from ${years[*]}"
  check_pair news-dev
else
  echo "prepare.sh: skipping news-dev: no $src/wmt/news-test2008 or newstest2009..2012 pair found"
fi

# Tatoeba: the split files when present, else the two columns of deu.txt.
tat=
if [ -n "$(find_file tatoeba_manythings/deu-eng.en)" ] && [ -n "$(find_file tatoeba_manythings/deu-eng.de)" ]; then
  text "$(find_file tatoeba_manythings/deu-eng.en)" | put tatoeba.en.gz
  text "$(find_file tatoeba_manythings/deu-eng.de)" | put tatoeba.de.gz
  tat=1
elif [ -n "$(find_file tatoeba_manythings/deu.txt)" ]; then
  tsv=$(find_file tatoeba_manythings/deu.txt)
  bad=$(text "$tsv" | awk -F'\t' 'NF != 2 { n++ } END { print n + 0 }')
  [ "$bad" = 0 ] || { echo "prepare.sh: $tsv: $bad lines without exactly two TAB-separated fields" >&2; exit 1; }
  text "$tsv" | cut -f1 | put tatoeba.en.gz
  text "$tsv" | cut -f2 | put tatoeba.de.gz
  tat=1
else
  echo "prepare.sh: skipping tatoeba: $src/tatoeba_manythings/deu-eng.{en,de} or deu.txt not found"
fi
if [ -n "$tat" ]; then
  check_pair tatoeba
  m30k=$src/multi30k
  [ -f "$m30k/train.en.gz" ] || m30k=$here/multi30k
  for l in en de; do
    { gzip -dc "$m30k/train.$l.gz"; gzip -dc "$out/tatoeba.$l.gz"; } | put "multi30k-tatoeba.$l.gz"
  done
  check_pair multi30k-tatoeba
fi

mv "$out/MANIFEST.tsv.tmp" "$out/MANIFEST.tsv"
echo "prepare.sh: wrote $out (MANIFEST.tsv lists files, lines, sha256)"
