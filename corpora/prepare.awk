# prepare.awk - the text work of prepare.sh, which runs it under LC_ALL=C (bytes, not characters) with -v mode=...:
#
#   mode=tsv     stdin is a ManyThings/Tatoeba TSV file: English<TAB>German[<TAB>attribution]
#   mode=plain   stdin is the source side, /dev/fd/3 the target side, line i <-> line i
#   mode=keyed   like plain, but both streams are mode=sgml/xml output, whose keys (document, segment id) must agree
#   mode=sgml    stdin is WMT SGML: prints "LINE<TAB>DOC:ID<TAB>TEXT" per <seg>, entities decoded
#   mode=xml     stdin is WMT XML (newstest2021 layout): the same for the first <src>/<ref> block of each <doc> whose
#                lang is -v lang
#   mode=dedup   stdin is records sorted by text: drops repeats, writes their count per input to -v counts
#   mode=rand    numbers the records of the inputs -v from (all when empty) with the MINSTD generator seeded by -v seed
#   mode=split   stdin is the numbered records sorted by number: the first N go to held-out set 1, and so on (-v sets)
#   mode=train   stdin is all unique records: drops the held-out ones (and, with -v overlap=src/tgt/any, those that
#                share a side with a held-out pair), writes the rest to -v out_src / -v out_tgt
#   mode=write   stdin is records: writes their two text fields to -v out_src / -v out_tgt
#
# A record is "INPUT<TAB>N<TAB>SOURCE<TAB>TARGET": the input's number on the command line, the pair's number within
# it (so sorting on the two restores input order) and the two cleaned texts, which hold no TAB (whitespace is
# normalised). mode=tsv/plain/keyed print records, cleaning each pair in this order, the first reason winning:
# whitespace normalised (runs of space, TAB, CR, VT, FF become one space; none at either end), then dropped when a
# side is empty, a side is not valid UTF-8, a side has more than -v maxc characters (0: no limit), the pair is in the
# exclusion list -v exclude (a file of "SOURCE<TAB>TARGET" lines, matched as -v overlap says). Their counts go to
# -v counts as "INPUT<TAB>WHAT<TAB>COUNT" lines.
# Errors go to stderr as "prepare.sh: FILE:LINE: what was expected, what was found" and end the program with status 1.
# What it does not do: decide anything about the command line (prepare.sh does), hold a whole corpus in memory
# (only the exclusion list and the held-out pairs).

BEGIN {
  FS = "\t"; OFS = "\t"
  for (i = 1; i < 256; i++) BYTE[i] = sprintf("%c", i)
  CONT = "[" BYTE[128] "-" BYTE[191] "]"
  HIGH = "[" BYTE[128] "-" BYTE[255] "]"
  # well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF
  UTF8 = "^([" BYTE[1] "-" BYTE[127] "]|[" BYTE[194] "-" BYTE[223] "]" CONT \
         "|" BYTE[224] "[" BYTE[160] "-" BYTE[191] "]" CONT "|[" BYTE[225] "-" BYTE[236] BYTE[238] BYTE[239] "]" CONT CONT \
         "|" BYTE[237] "[" BYTE[128] "-" BYTE[159] "]" CONT "|" BYTE[240] "[" BYTE[144] "-" BYTE[191] "]" CONT CONT \
         "|[" BYTE[241] "-" BYTE[243] "]" CONT CONT CONT "|" BYTE[244] "[" BYTE[128] "-" BYTE[143] "]" CONT CONT ")*$"
  SPACE = "[ \t\r" BYTE[11] BYTE[12] "]+"
  BOM = BYTE[239] BYTE[187] BYTE[191]
  if (mode == "tsv" || mode == "plain" || mode == "keyed") load_exclude()
  if (mode == "train") load_held()
  if (mode == "rand") {
    x = seed % 2147483646 + 1
    nf = split(from, f, ","); for (i = 1; i <= nf; i++) ELIGIBLE[f[i]] = 1
  }
  if (mode == "split") {
    nsets = split(sets, f, ",")
    for (i = 1; i <= nsets; i++) { eq = index(f[i], "="); SETNAME[i] = substr(f[i], 1, eq - 1); SETSIZE[i] = substr(f[i], eq + 1) + 0 }
    set = 1; taken = 0
  }
  npairs = 0
}

function fail(msg) { print "prepare.sh: " msg > "/dev/stderr"; failed = 1; exit 1 }
function shown(s) { return length(s) > 60 ? "\"" substr(s, 1, 60) "...\"" : "\"" s "\"" }
function norm(s) { gsub(SPACE, " ", s); sub(/^ /, "", s); sub(/ $/, "", s); return s }
function chars(s,   n, c) { n = length(s); if (n <= maxc) return n; c = s; return n - gsub(CONT, "", c) }
function bad_utf8(s) { return s ~ HIGH && s !~ UTF8 }
function count(what, n) { if (n) printf "%s\t%s\t%d\n", input, what, n >> counts }

function load_exclude(   line, tab) {
  if (exclude == "") return
  while ((getline line < exclude) > 0) {
    tab = index(line, "\t")
    EX[line] = 1
    if (overlap == "src" || overlap == "any") EXSRC[substr(line, 1, tab - 1)] = 1
    if (overlap == "tgt" || overlap == "any") EXTGT[substr(line, tab + 1)] = 1
  }
  close(exclude)
}

# One pair read from the input: cleaned, then printed as a record or counted as dropped.
function pair(s, t) {
  npairs++
  s = norm(s); t = norm(t)
  if (s == "" || t == "") { nempty++; return }
  if (bad_utf8(s) || bad_utf8(t)) { nbad++; return }
  if (maxc > 0 && (chars(s) > maxc || chars(t) > maxc)) { nlong++; return }
  if ((s "\t" t) in EX || s in EXSRC || t in EXTGT) { nexcl++; return }
  print input, npairs, s, t
}

# Text of an SGML/XML element: the five XML entities and numeric character references decoded; anything else kept.
function utf8(c) {
  if (c < 128) return BYTE[c]
  if (c < 2048) return BYTE[192 + int(c / 64)] BYTE[128 + c % 64]
  if (c < 65536) return BYTE[224 + int(c / 4096)] BYTE[128 + int(c / 64) % 64] BYTE[128 + c % 64]
  return BYTE[240 + int(c / 262144)] BYTE[128 + int(c / 4096) % 64] BYTE[128 + int(c / 64) % 64] BYTE[128 + c % 64]
}
function hexval(h,   v, i) {
  v = 0
  for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
  return v
}
function decode(s,   out, p, ent, name, c, rep) {
  if (index(s, "&") == 0) return s
  out = ""
  while ((p = index(s, "&")) > 0) {
    out = out substr(s, 1, p - 1); s = substr(s, p)
    rep = ""
    if (match(s, /^&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/)) {
      ent = substr(s, 1, RLENGTH); name = substr(ent, 2, RLENGTH - 2)
      if (name == "amp") rep = "&"; else if (name == "lt") rep = "<"; else if (name == "gt") rep = ">"
      else if (name == "quot") rep = "\""; else if (name == "apos") rep = "'"
      else if (name ~ /^#/) {
        c = name ~ /^#[xX]/ ? hexval(substr(name, 3)) : substr(name, 2) + 0
        if (c > 0 && c <= 1114111 && (c < 55296 || c > 57343)) rep = utf8(c)
      }
    }
    if (rep != "") { out = out rep; s = substr(s, RLENGTH + 1) } else { out = out "&"; s = substr(s, 2) }
  }
  return out s
}
function attr(tag, name,   v) {
  if (!match(tag, name "=\"[^\"]*\"")) return ""
  v = substr(tag, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
  return v
}
# Prints every <seg ...>TEXT</seg> of the line as "LINE<TAB>DOC:ID<TAB>TEXT"; a <seg> must close on its own line.
function segs(line, doc, keep,   open, rest, q) {
  while (match(line, /<seg( [^>]*)?>/)) {
    open = substr(line, RSTART, RLENGTH); rest = substr(line, RSTART + RLENGTH)
    q = index(rest, "</seg>")
    if (!q) fail(file ":" FNR ": <seg> not closed: expected " open "TEXT</seg> on one line, found " shown(rest))
    if (keep) { print FNR, doc ":" attr(open, "id"), norm(decode(substr(rest, 1, q - 1))); nsegs++ }
    line = substr(rest, q + 6)
  }
}

mode == "tsv" {
  if (FNR == 1) sub("^" BOM, "")
  n = split($0, f, "\t")
  if (n < 2) fail(file ":" FNR ": expected English<TAB>German[<TAB>attribution], found no TAB in " shown($0))
  if (FNR == 1) {
    cols = n
    if (n > 3) fail(file ":" FNR ": expected English<TAB>German[<TAB>attribution], found " n " TAB-separated fields")
  } else if (n != cols) {
    fail(file ":" FNR ": expected " cols " TAB-separated fields like line 1, found " n)
  }
  if (cols == 3) {
    who = f[3]; sub(/\r$/, "", who)
    if (who !~ /^CC-BY/) fail(file ":" FNR ": expected a CC-BY attribution in the third field, found " shown(who))
  }
  if (en_first) pair(f[1], f[2]); else pair(f[2], f[1])
  next
}
mode == "plain" {
  if (FNR == 1) sub("^" BOM, "")
  if ((getline t < "/dev/fd/3") <= 0) fail(file2 ":" FNR ": expected a line to pair with " file ":" FNR ", found the end of the file")
  if (FNR == 1) sub("^" BOM, "", t)
  pair($0, t)
  next
}
mode == "keyed" {
  if ((getline t < "/dev/fd/3") <= 0) {
    split($0, a, "\t"); fail(file2 ": expected a <seg> to pair with " file ":" a[1] " (segment " a[2] "), found no more")
  }
  split($0, a, "\t"); split(t, b, "\t")
  if (a[2] != b[2]) fail(file2 ":" b[1] ": expected segment " a[2] " to pair with " file ":" a[1] ", found segment " b[2])
  pair(a[3], b[3])
  next
}
mode == "sgml" {
  if (FNR == 1) sub("^" BOM, "")
  if ($0 ~ /<doc[ >]/) doc = attr($0, "docid")
  segs($0, doc, 1)
  next
}
mode == "xml" {
  if (FNR == 1) sub("^" BOM, "")
  if ($0 ~ /<doc[ >]/) { doc = attr($0, "id"); indoc = 1; found = 0; keep = 0; docline = FNR }
  if ($0 ~ /<(src|ref|hyp)[ >]/) { keep = !found && attr($0, "lang") == lang; if (keep) found = 1 }
  segs($0, doc, keep)
  if ($0 ~ /<\/(src|ref|hyp)>/) keep = 0
  if ($0 ~ /<\/doc>/) {
    if (!found) fail(file ":" docline ": expected a <src> or <ref lang=\"" lang "\"> in document " doc ", found none")
    indoc = 0
  }
  next
}
mode == "dedup" {
  k = $3 "\t" $4
  if (k == prev) { DUP[$1]++; next }
  prev = k; print
  next
}
mode == "rand" {
  if (from != "" && !($1 in ELIGIBLE)) next
  x = (x * 48271) % 2147483647
  printf "%.0f\t%s\n", x, $0
  next
}
mode == "split" {
  while (set <= nsets && taken == SETSIZE[set]) { set++; taken = 0 }
  if (set > nsets) next  # not exit: sort upstream would die of SIGPIPE
  sub(/^[0-9]+\t/, "")
  print > (dir "/held." SETNAME[set])
  taken++
  next
}
mode == "train" {
  if (($3 "\t" $4) in HELD) { HELDN[$1]++; next }
  if ($3 in HELDSRC || $4 in HELDTGT) { EXCL[$1]++; next }
  print $3 > out_src; print $4 > out_tgt; TRAIN[$1]++
  next
}
mode == "write" { print $3 > out_src; print $4 > out_tgt; next }

function load_held(   nf, f, i, line, r) {
  nf = split(held, f, ",")
  for (i = 1; i <= nf; i++) {
    while ((getline line < f[i]) > 0) {
      split(line, r, "\t")
      HELD[r[3] "\t" r[4]] = 1
      if (overlap == "src" || overlap == "any") HELDSRC[r[3]] = 1
      if (overlap == "tgt" || overlap == "any") HELDTGT[r[4]] = 1
    }
    close(f[i])
  }
}

END {
  if (failed) exit 1
  if (mode == "tsv" || mode == "plain" || mode == "keyed") {
    if (mode == "plain" && (getline t < "/dev/fd/3") > 0)
      fail(file ":" FNR + 1 ": expected a line to pair with " file2 ":" FNR + 1 ", found the end of the file")
    if (mode == "keyed" && (getline t < "/dev/fd/3") > 0) {
      split(t, b, "\t"); fail(file ": expected a <seg> to pair with " file2 ":" b[1] " (segment " b[2] "), found no more")
    }
    count("read", npairs); count("empty", nempty); count("bad-utf8", nbad); count("too-long", nlong)
    count("excluded", nexcl)
    if (mode == "tsv") printf "%s\tcolumns\t%d\n", input, cols >> counts
  }
  if ((mode == "sgml" || mode == "xml") && nsegs == 0)
    fail(file ": expected <seg id=\"N\">TEXT</seg> elements" (mode == "xml" ? " in a <src>/<ref lang=\"" lang "\">" : "") ", found none")
  if (mode == "dedup") for (i in DUP) count_of(i, "duplicate", DUP[i])
  if (mode == "train") {
    for (i in HELDN) count_of(i, "held-out", HELDN[i])
    for (i in EXCL) count_of(i, "excluded", EXCL[i])
    for (i in TRAIN) count_of(i, "train", TRAIN[i])
  }
}
function count_of(i, what, n) { printf "%s\t%s\t%d\n", i, what, n >> counts }
