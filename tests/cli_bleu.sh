#!/usr/bin/env bash
# cli_bleu.sh - xlat-bleu end to end: sacreBLEU's output formats (json default, text, -b, -w, several metrics,
# sentence level, signatures), its input conventions (stdin universal newlines, rstrip of Unicode whitespace, gzip,
# -nr, TAB-separated systems) and its errors (line-count mismatch, invalid UTF-8, field counts).
set -u
bin=${XLAT_BIN_DIR:-build/bin}/xlat-bleu
v=$("$bin" -V | awk '{print $2}')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # name expected actual
  if [ "$2" != "$3" ]; then
    echo "FAIL $1"
    echo "  expected: $2"
    echo "  actual:   $3"
    fails=$((fails + 1))
  fi
}

# matches worked out in test_bleu.c: 8/12 4/10 1/8 0/6 (p4 = 100/(2*6)), hyp_len = ref_len = 12: BLEU 22.957
printf 'The cat sat on the mat today .\na b x y\n' >"$tmp/h"
printf 'The cat is on the mat .\na b c d e\n' >"$tmp/r"
sig="nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:$v"
check "json default" "{
 \"name\": \"BLEU\",
 \"score\": 23.0,
 \"signature\": \"$sig\",
 \"verbose_score\": \"66.7/40.0/12.5/8.3 (BP = 1.000 ratio = 1.000 hyp_len = 12 ref_len = 12)\",
 \"nrefs\": \"1\",
 \"case\": \"mixed\",
 \"eff\": \"no\",
 \"tok\": \"13a\",
 \"smooth\": \"exp\",
 \"version\": \"$v\"
}" "$("$bin" "$tmp/r" <"$tmp/h")"
check "text" "BLEU|$sig = 23.0 66.7/40.0/12.5/8.3 (BP = 1.000 ratio = 1.000 hyp_len = 12 ref_len = 12)" \
  "$("$bin" "$tmp/r" -i "$tmp/h" -f text)"
check "score only, width 3" "22.957" "$("$bin" "$tmp/r" -i "$tmp/h" -b -w 3)"
check "SACREBLEU_FORMAT" "BLEU|$sig = 23.0 66.7/40.0/12.5/8.3 (BP = 1.000 ratio = 1.000 hyp_len = 12 ref_len = 12)" \
  "$(SACREBLEU_FORMAT=text "$bin" "$tmp/r" -i "$tmp/h" -f json)" # the variable overrides -f, as in sacreBLEU
check "short signature, floor" "BLEU|#:1|c:mixed|e:no|tok:13a|s:floor[0.10]|v:$v = 15.4 66.7/40.0/12.5/1.7" \
  "$("$bin" "$tmp/r" -i "$tmp/h" -f text -sh -s floor | sed 's/ (BP.*//')"
check "add-k signature" "nrefs:1|case:lc|eff:no|tok:intl|smooth:add-k[2.00]|version:$v" \
  "$("$bin" "$tmp/r" -i "$tmp/h" -f text -lc -tok intl -s add-k -sv 2 | sed 's/^BLEU|//; s/ = .*//')"
# several metrics: -b in json is a list, text lines are aligned on '='. TER: (sat->is, -today) + (2 subs, 1 ins)
# = 5 edits over 7 + 5 reference words; chrF as computed by the library (test_chrf.c checks its arithmetic)
check "metrics -b json" "[
23.0,
51.7,
41.7
]" "$("$bin" "$tmp/r" -i "$tmp/h" -b -m bleu chrf ter)"
out=$("$bin" "$tmp/r" -i "$tmp/h" -f text -m ter bleu chrf)
check "metrics sorted" "BLEU chrF2 TER" "$(echo "$out" | sed 's/^ *//; s/|.*//' | tr '\n' ' ' | sed 's/ $//')"
check "aligned on =" "1" "$(echo "$out" | awk '{print index($0, "=")}' | sort -u | wc -l)"
check "chrF++ name" "chrF2++|nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:$v" \
  "$("$bin" "$tmp/r" -i "$tmp/h" -f text -m chrf -cw 2 | sed 's/ = .*//')"
check "TER signature" "TER|nrefs:1|case:mixed|tok:tercom|norm:yes|punct:no|asian:no|version:$v" \
  "$("$bin" "$tmp/r" -i "$tmp/h" -f text -m ter --ter-case-sensitive --ter-normalized --ter-no-punct | sed 's/ = .*//')"
# sentence level: effective order; second segment 2/4 1/3 0/2 0/1 with exp smoothing, bp exp(1 - 5/4)
check "sentence level" "27.1
24.9" "$("$bin" "$tmp/r" -i "$tmp/h" -sl -b)"
check "sentence signature" "eff:yes" "$("$bin" "$tmp/r" -i "$tmp/h" -sl | head -1 | grep -o 'eff:yes')"
# confidence: signature gains bs and seed, the line gains (mu = ... +- ...)
out=$("$bin" "$tmp/r" -i "$tmp/h" -f text --confidence --confidence-n 200)
check "confidence signature" "BLEU|nrefs:1|bs:200|seed:12345|case:mixed" "$(echo "$out" | cut -d'|' -f1-5)"
check "confidence text" "1" "$(echo "$out" | grep -c ' = 23.0 (μ = [0-9.]* ± [0-9.]*) 66.7/')"
check "confidence reproducible" "$out" "$("$bin" "$tmp/r" -i "$tmp/h" -f text --confidence --confidence-n 200)"

# input conventions: stdin CRLF and lone CR end lines; trailing NBSP / U+3000 stripped; gzip references
printf 'The cat sat on the mat today .\r\na b x y\xc2\xa0\xe3\x80\x80\r\n' >"$tmp/hcr"
check "universal newlines + rstrip" "23.0" "$("$bin" "$tmp/r" -b <"$tmp/hcr")"
gzip -c "$tmp/r" >"$tmp/r.gz"
check "gzip reference" "23.0" "$("$bin" "$tmp/r.gz" -i "$tmp/h" -b)"
printf 'The cat is on the mat .\ta x\na b c d e\ta b\n' >"$tmp/rr"
check "-nr 2 equals two files" "$("$bin" "$tmp/rr" -nr 2 -i "$tmp/h" -b -w 4)" \
  "$(cut -f1 "$tmp/rr" >"$tmp/ra"; cut -f2 "$tmp/rr" >"$tmp/rb"; "$bin" "$tmp/ra" "$tmp/rb" -i "$tmp/h" -b -w 4)"
# TAB-separated systems on stdin: a table with one row per system
paste "$tmp/h" "$tmp/h" | "$bin" "$tmp/r" >"$tmp/table"
check "stdin systems" "2" "$(grep -c '│ *System [12] │ *23.0 *│' "$tmp/table")"
"$bin" "$tmp/r" -i "$tmp/h" "$tmp/hcr" --paired-bs --paired-bs-n 100 -m bleu chrf >"$tmp/paired"
check "paired bs table" "1" "$(grep -c '│ Baseline: .*/h │ *23.0 (' "$tmp/paired")"
check "paired bs note" "1" "$(grep -c '^Paired bootstrap resampling test with 100 resampling trials$' "$tmp/paired")"
check "paired signature" "1" "$(grep -c "^ - BLEU       nrefs:1|bs:100|seed:12345|case:mixed" "$tmp/paired")"

# errors
"$bin" "$tmp/r" -i "$tmp/h" -b >/dev/null 2>&1 </dev/null
printf 'one line\n' >"$tmp/h1"
"$bin" "$tmp/r" -i "$tmp/h1" >/dev/null 2>"$tmp/err"
check "length mismatch exit" "1" "$?"
check "length mismatch message" "1" "$(grep -c 'different lengths.*1 lines.*2 lines' "$tmp/err")"
printf 'ok\nbad \xff here\n' >"$tmp/bad"
"$bin" "$tmp/bad" -i "$tmp/h" >/dev/null 2>"$tmp/err"
check "invalid UTF-8 exit" "1" "$?"
check "invalid UTF-8 message" "1" "$(grep -c 'bad: line 2: invalid UTF-8' "$tmp/err")"
printf 'a\tb\nc\n' | "$bin" "$tmp/r" >/dev/null 2>&1
check "field count exit" "17" "$?"
# A NUL byte is refused (file and stdin, hypothesis and reference), never a line cut short at it and scored
printf 'The cat sat on the mat today .\nZwei\0 Hunde\n' >"$tmp/hnul"
"$bin" "$tmp/r" -i "$tmp/hnul" -b >"$tmp/out" 2>"$tmp/err"
check "NUL hypothesis exit" "1" "$?"
check "NUL hypothesis message" "1" "$(grep -c 'hnul: line 2: contains a NUL byte at byte 5' "$tmp/err")"
check "NUL hypothesis no score" "" "$(cat "$tmp/out")"
"$bin" "$tmp/r" -b <"$tmp/hnul" >/dev/null 2>"$tmp/err"
check "NUL stdin exit" "1" "$?"
check "NUL stdin message" "1" "$(grep -c '^xlat-bleu: -: line 2: contains a NUL byte at byte 5' "$tmp/err")"
"$bin" "$tmp/hnul" -i "$tmp/h" -b >/dev/null 2>"$tmp/err"
check "NUL reference exit" "1" "$?"
check "NUL reference message" "1" "$(grep -c 'hnul: line 2: contains a NUL byte at byte 5' "$tmp/err")"
: >"$tmp/empty"
check "empty stdin vs one-line ref" "0.0" "$("$bin" "$tmp/h1" -b <"$tmp/empty")"
"$bin" "$tmp/empty" -b <"$tmp/empty" >/dev/null 2>&1
check "empty stdin vs empty ref exit" "1" "$?"
"$bin" "$tmp/r" -m bleu -x >/dev/null 2>&1
check "usage error exit" "2" "$?"
"$bin" "$tmp/r" -i "$tmp/h" -sl -m bleu chrf >/dev/null 2>&1
check "sentence level with two metrics exit" "1" "$?"

# A truncated .gz is an error naming the file, never a short file scored (as hypothesis or reference)
gz="$XLAT_SOURCE_DIR/corpora/multi30k/val.de.gz"
zcat "$gz" >"$tmp/val.de"
head -c $(($(stat -c %s "$gz") - 30)) "$gz" >"$tmp/cut.gz"
"$bin" "$tmp/val.de" -i "$tmp/cut.gz" -b >/dev/null 2>"$tmp/err"
check "truncated gzip hypothesis exit" "1" "$?"
check "truncated gzip message" "1" "$(grep -c "cut.gz: read error or corrupt / truncated gzip data" "$tmp/err")"
"$bin" "$tmp/cut.gz" -i "$tmp/val.de" -b >/dev/null 2>&1
check "truncated gzip reference exit" "1" "$?"
check "whole gzip scores" "100.0" "$("$bin" "$tmp/val.de" -i "$gz" -b)"

# Threads share out the segments and the sums keep segment order: every digit is the same for any thread count
sed 's/ein/eine/; 3~4s/^[^ ]* //' "$tmp/val.de" >"$tmp/val.hyp"
for opts in "-m bleu chrf ter -f text -w 12" "-sl -b -w 12 -m ter" "-m bleu -tok intl --confidence --confidence-n 50 -w 12"; do
  check "threads: $opts" "$("$bin" "$tmp/val.de" -i "$tmp/val.hyp" $opts --threads 1 2>&1)" \
    "$("$bin" "$tmp/val.de" -i "$tmp/val.hyp" $opts --threads 3 2>&1)"
done

if [ "$fails" -ne 0 ]; then
  echo "cli_bleu.sh: $fails failed"
  exit 1
fi
echo "cli_bleu.sh: all passed"
