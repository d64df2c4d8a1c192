/* xlat-bleu - sacreBLEU-compatible command line over the metrics library: BLEU, chrF/chrF++ and TER of one or more
 * systems against one or more references, with sacreBLEU 2.x's options, output lines, signatures, JSON, tables,
 * bootstrap confidence intervals and paired significance tests. Test-set download (-t/-l) is not supported.
 * Exit codes: 0 success, 1 runtime error (unreadable file, line-count mismatch), 2 usage error, 17 as sacreBLEU for
 * a wrong number of tab-separated fields. Colours are never printed (as sacreBLEU when not on a terminal). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "metrics.h"

enum { M_BLEU, M_CHRF, M_TER, M_COUNT };

typedef struct {
  const char **refs;
  int nrefs;
  const char **inputs;
  int ninputs;
  int metric_order[M_COUNT], nmetrics; /* as given on the command line */
  xlat_bleu_options bleu;
  xlat_chrf_options chrf;
  xlat_ter_options ter;
  int score_only, width, sentence, shortsig, force, quiet;
  const char *format;
  int num_refs;
  int confidence, confidence_n;
  int paired_bs, paired_ar, paired_bs_n, paired_ar_n;
  int threads; /* scoring threads */
} cli;

static void usage(FILE *f) {
  fprintf(f,
          "usage: xlat-bleu [options] REF [REF ...] < HYP\n"
          "       xlat-bleu [options] REF [REF ...] -i HYP [HYP ...]\n"
          "  -i, --input FILE...          hypothesis files (several: multi-system mode; stdin: TAB-separated systems)\n"
          "  -m, --metrics M...           bleu chrf ter (default bleu); list it after the references\n"
          "  -nr, --num-refs N            one reference file with N TAB-separated references per line\n"
          "  -tok, --tokenize T           13a (default), intl, zh, char, none\n"
          "  -lc, --lowercase             BLEU: lowercase first\n"
          "  -s, --smooth-method M        exp (default), floor, add-k, none;  -sv, --smooth-value V\n"
          "  --force                      do not warn about tokenized hypotheses\n"
          "  -cc, --chrf-char-order N     6;  -cw, --chrf-word-order N: 0 (2 = chrF++);  --chrf-beta B: 2\n"
          "  --chrf-whitespace  --chrf-lowercase  --chrf-eps-smoothing\n"
          "  --ter-case-sensitive  --ter-normalized  --ter-no-punct  --ter-asian-support\n"
          "  -sl, --sentence-level        one score per segment (BLEU uses effective order)\n"
          "  -ci, --confidence            bootstrap 95%% confidence interval;  --confidence-n N: 1000\n"
          "  --paired-bs, --paired-ar     paired tests of -i systems against the first (baseline)\n"
          "  --paired-bs-n N (1000)  --paired-ar-n N (10000)   seed: $SACREBLEU_SEED (12345; none = random)\n"
          "  -f, --format json|text       default json for one system ($SACREBLEU_FORMAT overrides)\n"
          "  --threads N                  scoring threads (default: the online CPUs; the scores do not depend on it)\n"
          "  -b, --score-only  -w, --width N (1)  -sh, --short  -q, --quiet  -V, --version  -h, --help\n");
}

static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "xlat-bleu: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  usage(stderr);
  exit(2);
}

static void die(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "xlat-bleu: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(code);
}

static long parse_int(const char *opt, const char *v, long lo, long hi) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || *end || end == v || x < lo || x > hi)
    die_usage("argument %s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, v);
  return x;
}

static double parse_double(const char *opt, const char *v) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || *end || end == v || !(x >= 0)) die_usage("argument %s: expected a number >= 0, got '%s'", opt, v);
  return x;
}

static int is_opt(const char *s) { return s[0] == '-' && s[1] != 0; }

static void parse_args(int argc, char **argv, cli *a) {
  memset(a, 0, sizeof *a);
  xlat_bleu_options_default(&a->bleu);
  xlat_chrf_options_default(&a->chrf);
  xlat_ter_options_default(&a->ter);
  a->width = 1;
  a->num_refs = 1;
  a->confidence_n = 1000;
  a->paired_bs_n = 1000;
  a->paired_ar_n = 10000;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  a->threads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
  a->refs = calloc((size_t)argc, sizeof *a->refs);
  a->inputs = calloc((size_t)argc, sizeof *a->inputs);
  if (!a->refs || !a->inputs) die(1, "out of memory");
  int metrics_given = 0;
  for (int i = 1; i < argc; i++) {
    char *arg = argv[i], *eq = NULL, name[64];
    if (!is_opt(arg)) {
      a->refs[a->nrefs++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      while (++i < argc) a->refs[a->nrefs++] = argv[i];
      break;
    }
    snprintf(name, sizeof name, "%s", arg);
    if (arg[1] == '-' && (eq = strchr(name, '='))) *eq = 0;
    const char *inline_val = eq ? arg + (eq - name) + 1 : NULL;
#define IS(s, l) (strcmp(name, s) == 0 || strcmp(name, l) == 0)
#define VALUE()                                                                                                        \
  (inline_val ? inline_val : (i + 1 < argc ? argv[++i] : (die_usage("argument %s: expected a value", name), "")))
    if (IS("-h", "--help")) {
      usage(stdout);
      exit(0);
    } else if (IS("-V", "--version")) {
      printf("xlat-bleu %s\n", XLAT_VERSION);
      exit(0);
    } else if (IS("-i", "--input") || IS("-m", "--metrics")) {
      int is_input = IS("-i", "--input"), got = 0;
      if (inline_val) die_usage("argument %s takes its values as separate words", name);
      while (i + 1 < argc && !is_opt(argv[i + 1])) {
        const char *v = argv[++i];
        got++;
        if (is_input) {
          a->inputs[a->ninputs++] = v;
          continue;
        }
        int m = strcmp(v, "bleu") == 0 ? M_BLEU : strcmp(v, "chrf") == 0 ? M_CHRF : strcmp(v, "ter") == 0 ? M_TER : -1;
        if (m < 0) die_usage("argument -m/--metrics: invalid choice '%s' (choose from 'bleu', 'chrf', 'ter')", v);
        if (!metrics_given) a->nmetrics = 0;
        metrics_given = 1;
        int dup = 0;
        for (int k = 0; k < a->nmetrics; k++) dup |= a->metric_order[k] == m;
        if (!dup) a->metric_order[a->nmetrics++] = m;
      }
      if (!got) die_usage("argument %s: expected at least one argument", name);
    } else if (IS("-tok", "--tokenize")) {
      const char *v = VALUE();
      static const char *const names[] = {"13a", "intl", "zh", "char", "none"};
      int k = 0;
      while (k < 5 && strcmp(v, names[k])) k++;
      if (k == 5) die_usage("argument -tok/--tokenize: invalid choice '%s' (choose from 13a, intl, zh, char, none)", v);
      a->bleu.tokenizer = (xlat_bleu_tokenizer)k;
    } else if (IS("-lc", "--lowercase")) {
      a->bleu.lowercase = 1;
    } else if (IS("-s", "--smooth-method")) {
      const char *v = VALUE();
      if (strcmp(v, "exp") == 0)
        a->bleu.smooth = XLAT_BLEU_SMOOTH_EXP;
      else if (strcmp(v, "floor") == 0)
        a->bleu.smooth = XLAT_BLEU_SMOOTH_FLOOR;
      else if (strcmp(v, "add-k") == 0)
        a->bleu.smooth = XLAT_BLEU_SMOOTH_ADD_K;
      else if (strcmp(v, "none") == 0)
        a->bleu.smooth = XLAT_BLEU_SMOOTH_NONE;
      else
        die_usage("argument -s/--smooth-method: invalid choice '%s' (choose from exp, floor, add-k, none)", v);
    } else if (IS("-sv", "--smooth-value")) {
      a->bleu.smooth_value = parse_double(name, VALUE());
    } else if (IS("-b", "--score-only")) {
      a->score_only = 1;
    } else if (IS("-w", "--width")) {
      a->width = (int)parse_int(name, VALUE(), 0, 30);
    } else if (IS("-f", "--format")) {
      a->format = VALUE();
      if (strcmp(a->format, "json") && strcmp(a->format, "text"))
        die_usage("argument -f/--format: invalid choice '%s' (choose from json, text; latex is not supported)",
                  a->format);
    } else if (IS("-sl", "--sentence-level")) {
      a->sentence = 1;
    } else if (IS("-cc", "--chrf-char-order")) {
      a->chrf.char_order = (int)parse_int(name, VALUE(), 0, 40);
    } else if (IS("-cw", "--chrf-word-order")) {
      a->chrf.word_order = (int)parse_int(name, VALUE(), 0, 40); /* sums fit in 256 */
    } else if (IS("--chrf-beta", "--chrf-beta")) {
      a->chrf.beta = (int)parse_int(name, VALUE(), 0, 1000);
    } else if (IS("--chrf-whitespace", "--chrf-whitespace")) {
      a->chrf.whitespace = 1;
    } else if (IS("--chrf-lowercase", "--chrf-lowercase")) {
      a->chrf.lowercase = 1;
    } else if (IS("--chrf-eps-smoothing", "--chrf-eps-smoothing")) {
      a->chrf.eps_smoothing = 1;
    } else if (IS("--ter-case-sensitive", "--ter-case-sensitive")) {
      a->ter.case_sensitive = 1;
    } else if (IS("--ter-normalized", "--ter-normalized")) {
      a->ter.normalized = 1;
    } else if (IS("--ter-no-punct", "--ter-no-punct")) {
      a->ter.no_punct = 1;
    } else if (IS("--ter-asian-support", "--ter-asian-support")) {
      a->ter.asian_support = 1;
    } else if (IS("--force", "--force")) {
      a->force = 1;
    } else if (IS("-nr", "--num-refs")) {
      a->num_refs = (int)parse_int(name, VALUE(), 1, 1000);
    } else if (IS("-ci", "--confidence")) {
      a->confidence = 1;
    } else if (IS("--confidence-n", "-cin")) {
      a->confidence_n = (int)parse_int(name, VALUE(), 1, 100000000);
    } else if (IS("--paired-bs", "-pbs")) {
      a->paired_bs = 1;
    } else if (IS("--paired-ar", "-par")) {
      a->paired_ar = 1;
    } else if (IS("--paired-bs-n", "-pbsn")) {
      a->paired_bs_n = (int)parse_int(name, VALUE(), 1, 100000000);
    } else if (IS("--paired-ar-n", "-parn")) {
      a->paired_ar_n = (int)parse_int(name, VALUE(), 1, 100000000);
    } else if (IS("--paired-jobs", "-j")) {
      parse_int(name, VALUE(), 0, 1024); /* accepted for compatibility; the tests run in one thread */
    } else if (IS("--threads", "--threads")) {
      a->threads = (int)parse_int(name, VALUE(), 1, 256);
    } else if (IS("-sh", "--short")) {
      a->shortsig = 1;
    } else if (IS("-q", "--quiet") || IS("-nc", "--no-color")) {
      if (IS("-q", "--quiet")) a->quiet = 1;
    } else if (IS("-e", "--encoding")) {
      const char *v = VALUE();
      if (strcmp(v, "utf-8") && strcmp(v, "utf8") && strcmp(v, "UTF-8"))
        die_usage("argument -e/--encoding: only utf-8 is supported, got '%s'", v);
    } else {
      die_usage("unrecognized argument: %s", arg);
    }
#undef IS
#undef VALUE
  }
  if (!metrics_given) a->metric_order[0] = M_BLEU, a->nmetrics = 1;
  if (a->paired_bs && a->paired_ar) die_usage("--paired-bs and --paired-ar cannot be combined");
  /* sacreBLEU exits 1 (not 2) for these */
  if (a->nrefs == 0)
    die(1, "If manual references given, make sure to provide them before the -i/--input argument to avoid "
           "confusion.\n(Test sets, -t, are not supported by xlat-bleu.)");
  if (a->num_refs > 1 && a->nrefs > 1)
    die(1, "The --num-refs argument allows you to provide any number of tab-delimited references in a single file; "
           "you cannot then provide multiple reference files.");
  if (a->sentence && a->nmetrics > 1) die(1, "Only one metric can be used in sentence-level mode.");
  if (a->chrf.char_order + a->chrf.word_order == 0) die_usage("chrF needs a character or a word order above 0");
}

/* ---- output helpers ---------------------------------------------------------------------------------------- */

typedef struct {
  char *s;
  size_t n, cap;
} str;

static void sputs(str *b, const char *t) {
  size_t m = strlen(t);
  if (b->n + m + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->n + m + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) die(1, "out of memory");
    b->s = p;
    b->cap = cap;
  }
  memcpy(b->s + b->n, t, m + 1);
  b->n += m;
}

static void sprintf_(str *b, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  sputs(b, tmp);
}

/* Python's repr() of a float (the shortest string that reads back to x), as json.dumps writes it. */
static void py_float_repr(char *out, size_t cap, double x) {
  char buf[64];
  int prec = 1;
  for (; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    if (strtod(buf, NULL) == x) break;
  }
  /* buf = [-]d.ddde[+-]XX */
  int neg = buf[0] == '-';
  char digits[32];
  int nd = 0;
  const char *p = buf + neg;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  digits[nd] = 0;
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = 0;
  str s = {0};
  if (neg) sputs(&s, "-");
  if (exp10 >= -5 && exp10 < 16) {
    if (exp10 < 0) {
      sputs(&s, "0.");
      for (int k = 0; k < -exp10 - 1; k++) sputs(&s, "0");
      sputs(&s, digits);
    } else {
      char c[2] = {0, 0};
      for (int k = 0; k <= exp10; k++) c[0] = k < nd ? digits[k] : '0', sputs(&s, c);
      sputs(&s, ".");
      if (nd > exp10 + 1)
        sputs(&s, digits + exp10 + 1);
      else
        sputs(&s, "0");
    }
  } else {
    char c[2] = {digits[0], 0};
    sputs(&s, c);
    if (nd > 1) sputs(&s, "."), sputs(&s, digits + 1);
    sprintf_(&s, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  }
  snprintf(out, cap, "%s", s.s);
  free(s.s);
}

/* ---- metrics: statistics, scores, names, signatures ------------------------------------------------------- */

typedef struct {
  int kind;
  const cli *a;
  int ns;
} metric;

static double score_of(const double *sum, void *ctx) {
  const metric *m = ctx;
  int64_t st[256];
  if (m->kind == M_TER) return xlat_ter_from_stats(sum);
  for (int k = 0; k < m->ns; k++) st[k] = llround(sum[k]);
  if (m->kind == M_CHRF) return xlat_chrf_from_stats(st, &m->a->chrf);
  xlat_bleu_result r;
  xlat_bleu_from_stats(st, &m->a->bleu, &r);
  return r.score;
}

static void metric_name(const metric *m, char *out, size_t cap) {
  if (m->kind == M_BLEU)
    snprintf(out, cap, "BLEU");
  else if (m->kind == M_TER)
    snprintf(out, cap, "TER");
  else {
    int k = snprintf(out, cap, "chrF%d", m->a->chrf.beta);
    for (int w = 0; w < m->a->chrf.word_order && (size_t)k + 1 < cap; w++) out[k++] = '+', out[k] = 0;
  }
}

/* One thread's share of the statistics: rows [b, b + k) of hyps, into st (the integer statistics of BLEU and chrF)
 * or out (TER's). */
typedef struct {
  const metric *m;
  char **hyps;
  char ***refs;
  const char *const **bref; /* this share's own nrefs reference streams, from row b */
  int nrefs;
  int64_t b, k;
  int64_t *st;
  double *out;
  int rc;
  char err[1024]; /* the library's error text is per thread */
} share;

static void *score_share(void *arg) {
  share *s = arg;
  const metric *m = s->m;
  const char *const *h = (const char *const *)s->hyps + s->b;
  for (int r = 0; r < s->nrefs; r++) s->bref[r] = (const char *const *)s->refs[r] + s->b;
  const char *const *const *rf = s->bref;
  s->rc = m->kind == M_TER    ? xlat_ter_stats(h, rf, s->k, s->nrefs, &m->a->ter, s->out)
          : m->kind == M_BLEU ? xlat_bleu_stats(h, rf, s->k, s->nrefs, &m->a->bleu, s->st)
                              : xlat_chrf_stats(h, rf, s->k, s->nrefs, &m->a->chrf, s->st);
  if (s->rc) snprintf(s->err, sizeof s->err, "%s", xlat_metrics_error());
  return NULL;
}

/* Statistics of hyps against the reference streams: their sums into sum, and when keep is set the per-segment
 * rows (n rows of m->ns doubles, returned; the caller frees). The corpus goes through in rounds of ROUND rows, so
 * that without keep memory does not grow with it. Each round is cut into one contiguous share per thread and
 * summed in segment order once all are done, so the sums are bit for bit those of one thread. */
static double *compute(const metric *m, char **hyps, char ***refs, int64_t n, int nrefs, int keep, double *sum) {
  enum { ROUND = 8192, MIN_SHARE = 256 };
  size_t ns = (size_t)m->ns, nt = (size_t)m->a->threads;
  int ter = m->kind == M_TER;
  double *out = keep ? malloc((size_t)(n > 0 ? n : 1) * ns * sizeof *out) : NULL;
  int64_t *st = ter ? NULL : malloc(ROUND * ns * sizeof *st);
  double *ter_round = ter && !keep ? malloc(ROUND * ns * sizeof *ter_round) : NULL;
  share *sh = calloc(nt, sizeof *sh);
  const char *const **bref = malloc(nt * (size_t)nrefs * sizeof *bref);
  pthread_t *tid = malloc(nt * sizeof *tid);
  int *started = malloc(nt * sizeof *started);
  if ((keep && !out) || (!ter && !st) || (ter && !keep && !ter_round) || !sh || !bref || !tid || !started)
    die(1, "out of memory");
  memset(sum, 0, ns * sizeof *sum);
  for (int64_t b = 0; b < n; b += ROUND) {
    int64_t k = n - b < ROUND ? n - b : ROUND;
    double *o = ter ? (keep ? out + (size_t)b * ns : ter_round) : NULL;
    int64_t parts = (k + MIN_SHARE - 1) / MIN_SHARE < (int64_t)nt ? (k + MIN_SHARE - 1) / MIN_SHARE : (int64_t)nt;
    for (int64_t t = 0; t < parts; t++) {
      size_t lo = (size_t)(k * t / parts), hi = (size_t)(k * (t + 1) / parts);
      sh[t] = (share){m, hyps, refs, bref + (size_t)t * (size_t)nrefs, nrefs, b + (int64_t)lo, (int64_t)(hi - lo),
                      st ? st + lo * ns : NULL, o ? o + lo * ns : NULL, 0, ""};
    }
    for (int64_t t = 1; t < parts; t++) /* a thread that cannot be started is run here, after the others */
      started[t] = pthread_create(&tid[t], NULL, score_share, &sh[t]) == 0;
    score_share(&sh[0]);
    for (int64_t t = 1; t < parts; t++) {
      if (started[t])
        pthread_join(tid[t], NULL);
      else
        score_share(&sh[t]);
    }
    for (int64_t t = 0; t < parts; t++)
      if (sh[t].rc) die(1, "%s", sh[t].err);
    for (size_t i = 0; i < (size_t)k * ns; i += ns)
      for (size_t j = 0; j < ns; j++) {
        double v = st ? (double)st[i + j] : o[i + j];
        if (keep && st) out[(size_t)b * ns + i + j] = v;
        sum[j] += v;
      }
  }
  free(st);
  free(ter_round);
  free(sh);
  free(bref);
  free(tid);
  free(started);
  return out;
}

typedef struct {
  const char *bs, *ar, *seed; /* NULL when absent */
} sig_extra;

static void add_pair(str *s, const char *k, const char *v) {
  if (s->n) sputs(s, "|");
  sputs(s, k);
  sputs(s, ":");
  sputs(s, v);
}

/* sacreBLEU's signature: nrefs, bs, ar, seed, the metric's own keys, version (short keys with -sh). */
static char *signature(const metric *m, int nrefs, const sig_extra *x, int shortsig, int effective_order) {
  const cli *a = m->a;
  str s = {0};
  char v[64];
  snprintf(v, sizeof v, "%d", nrefs);
  add_pair(&s, shortsig ? "#" : "nrefs", v);
  if (x && x->bs) add_pair(&s, "bs", x->bs);
  if (x && x->ar) add_pair(&s, "ar", x->ar);
  if (x && x->seed) add_pair(&s, shortsig ? "rs" : "seed", x->seed);
  if (m->kind == M_BLEU) {
    static const char *const toks[] = {"13a", "intl", "zh", "char", "none"};
    add_pair(&s, shortsig ? "c" : "case", a->bleu.lowercase ? "lc" : "mixed");
    add_pair(&s, shortsig ? "e" : "eff", effective_order ? "yes" : "no");
    add_pair(&s, "tok", toks[a->bleu.tokenizer]);
    static const char *const sm[] = {"exp", "floor", "add-k", "none"};
    double k = a->bleu.smooth_value;
    if (a->bleu.smooth == XLAT_BLEU_SMOOTH_FLOOR || a->bleu.smooth == XLAT_BLEU_SMOOTH_ADD_K) {
      if (k < 0) k = a->bleu.smooth == XLAT_BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
      snprintf(v, sizeof v, "%s[%.2f]", sm[a->bleu.smooth], k);
    } else {
      snprintf(v, sizeof v, "%s", sm[a->bleu.smooth]);
    }
    add_pair(&s, shortsig ? "s" : "smooth", v);
  } else if (m->kind == M_CHRF) {
    add_pair(&s, shortsig ? "c" : "case", a->chrf.lowercase ? "lc" : "mixed");
    add_pair(&s, shortsig ? "e" : "eff", a->chrf.eps_smoothing ? "no" : "yes");
    snprintf(v, sizeof v, "%d", a->chrf.char_order);
    add_pair(&s, "nc", v);
    snprintf(v, sizeof v, "%d", a->chrf.word_order);
    add_pair(&s, "nw", v);
    add_pair(&s, shortsig ? "s" : "space", a->chrf.whitespace ? "yes" : "no");
  } else {
    add_pair(&s, shortsig ? "c" : "case", a->ter.case_sensitive ? "mixed" : "lc");
    add_pair(&s, shortsig ? "t" : "tok", "tercom");
    add_pair(&s, shortsig ? "nr" : "norm", a->ter.normalized ? "yes" : "no");
    add_pair(&s, shortsig ? "pn" : "punct", a->ter.no_punct ? "no" : "yes");
    add_pair(&s, shortsig ? "as" : "asian", a->ter.asian_support ? "yes" : "no");
  }
  add_pair(&s, shortsig ? "v" : "version", XLAT_VERSION);
  return s.s;
}

/* BLEU's verbose part: "p1/p2/p3/p4 (BP = ... ratio = ... hyp_len = ... ref_len = ...)". */
static void bleu_verbose(const metric *m, const double *sum, int effective_order, char *out, size_t cap) {
  int64_t st[XLAT_BLEU_NSTATS];
  for (int k = 0; k < XLAT_BLEU_NSTATS; k++) st[k] = llround(sum[k]);
  xlat_bleu_options o = m->a->bleu;
  o.effective_order = effective_order;
  xlat_bleu_result r;
  xlat_bleu_from_stats(st, &o, &r);
  snprintf(out, cap, "%.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)", r.precisions[0],
           r.precisions[1], r.precisions[2], r.precisions[3], r.bp, r.ratio, (long long)r.hyp_len,
           (long long)r.ref_len);
}

/* sacreBLEU's Score.format(): the text line, the score alone (-b) or the JSON object. */
static char *format_score(const char *name, double score, const char *sig, const char *verbose, int width,
                          int score_only, int is_json, int has_ci, double mean, double ci) {
  str s = {0};
  char sc[128], num[64];
  snprintf(sc, sizeof sc, "%.*f", width, score);
  if (has_ci && mean > 0) {
    size_t k = strlen(sc);
    snprintf(sc + k, sizeof sc - k, " (\xce\xbc = %.*f \xc2\xb1 %.*f)", width, mean, width, ci);
  }
  if (score_only) {
    snprintf(num, sizeof num, "%.*f", width, score);
    sputs(&s, has_ci && mean > 0 ? sc : num);
    return s.s;
  }
  if (!is_json) {
    sprintf_(&s, "%s%s%s = %s", name, sig[0] ? "|" : "", sig, sc);
    if (verbose && verbose[0]) sprintf_(&s, " %s", verbose);
    return s.s;
  }
  snprintf(num, sizeof num, "%.*f", width, score);
  py_float_repr(num, sizeof num, strtod(num, NULL));
  sprintf_(&s, "{\n \"name\": \"%s\",\n \"score\": %s,\n \"signature\": \"%s\"", name, num, sig);
  if (has_ci && mean > 0) {
    char m1[64], m2[64];
    snprintf(m1, sizeof m1, "%.*f", width, mean);
    snprintf(m2, sizeof m2, "%.*f", width, ci);
    char r1[64], r2[64];
    py_float_repr(r1, sizeof r1, strtod(m1, NULL));
    py_float_repr(r2, sizeof r2, strtod(m2, NULL));
    sprintf_(&s,
             ",\n \"confidence_mean\": %s,\n \"confidence_var\": %s,\n \"confidence\": \"\xce\xbc = %s \xc2\xb1 %s\"",
             r1, r2, m1, m2);
  }
  if (verbose && verbose[0]) sprintf_(&s, ",\n \"verbose_score\": \"%s\"", verbose);
  char *copy = strdup(sig), *save = NULL;
  if (!copy) die(1, "out of memory");
  for (char *kv = strtok_r(copy, "|", &save); kv; kv = strtok_r(NULL, "|", &save)) {
    char *colon = strchr(kv, ':');
    if (!colon) continue;
    *colon = 0;
    sprintf_(&s, ",\n \"%s\": \"%s\"", kv, colon + 1);
  }
  free(copy);
  sputs(&s, "\n}");
  return s.s;
}

/* ---- tables (tabulate's "fancy_grid" as sacreBLEU prints multi-system results) --------------------------- */

static int text_width(const char *s, size_t n) { /* code points: every character here is one column wide */
  int w = 0;
  for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xc0) != 0x80;
  return w;
}

/* Appends line s[0..n) aligned in width w: right (first column) or centred with the odd space on the right. */
static void put_aligned(str *o, const char *s, size_t n, int w, int right) {
  int pad = w - text_width(s, n), left = right ? pad : pad / 2;
  for (int k = 0; k < left; k++) sputs(o, " ");
  char *t = strndup(s, n);
  if (!t) die(1, "out of memory");
  sputs(o, t);
  free(t);
  for (int k = 0; k < pad - left; k++) sputs(o, " ");
}

static int cell_lines(const char *c) {
  int k = 1;
  for (; *c; c++) k += *c == '\n';
  return k;
}

/* Line l of cell c (empty when the cell has fewer lines). */
static const char *cell_line(const char *c, int l, size_t *n) {
  for (int k = 0; k < l; k++) {
    const char *nl = strchr(c, '\n');
    if (!nl) {
      *n = 0;
      return "";
    }
    c = nl + 1;
  }
  const char *nl = strchr(c, '\n');
  *n = nl ? (size_t)(nl - c) : strlen(c);
  return c;
}

static void rule(str *o, const int *w, int ncol, const char *l, const char *fill, const char *mid, const char *r) {
  sputs(o, l);
  for (int c = 0; c < ncol; c++) {
    for (int k = 0; k < w[c] + 2; k++) sputs(o, fill);
    sputs(o, c + 1 < ncol ? mid : r);
  }
  sputs(o, "\n");
}

/* cells[r * ncol + c]; row 0 holds the headers. Column width: the widest line, at least header + 2. */
static void print_table(char **cells, int nrows, int ncol) {
  int *w = calloc((size_t)ncol, sizeof *w);
  if (!w) die(1, "out of memory");
  for (int c = 0; c < ncol; c++) {
    w[c] = text_width(cells[c], strlen(cells[c])) + 2;
    for (int r = 1; r < nrows; r++)
      for (int l = 0; l < cell_lines(cells[r * ncol + c]); l++) {
        size_t n;
        const char *s = cell_line(cells[r * ncol + c], l, &n);
        if (text_width(s, n) > w[c]) w[c] = text_width(s, n);
      }
  }
  str o = {0};
  rule(&o, w, ncol, "\xe2\x95\x92", "\xe2\x95\x90", "\xe2\x95\xa4", "\xe2\x95\x95");
  for (int r = 0; r < nrows; r++) {
    int h = 1;
    for (int c = 0; c < ncol; c++)
      if (cell_lines(cells[r * ncol + c]) > h) h = cell_lines(cells[r * ncol + c]);
    for (int l = 0; l < h; l++) {
      sputs(&o, "\xe2\x94\x82");
      for (int c = 0; c < ncol; c++) {
        size_t n;
        const char *s = cell_line(cells[r * ncol + c], l, &n);
        sputs(&o, " ");
        put_aligned(&o, s, n, w[c], c == 0);
        sputs(&o, " \xe2\x94\x82");
      }
      sputs(&o, "\n");
    }
    if (r == 0)
      rule(&o, w, ncol, "\xe2\x95\x9e", "\xe2\x95\x90", "\xe2\x95\xaa", "\xe2\x95\xa1");
    else if (r + 1 < nrows)
      rule(&o, w, ncol, "\xe2\x94\x9c", "\xe2\x94\x80", "\xe2\x94\xbc", "\xe2\x94\xa4");
  }
  rule(&o, w, ncol, "\xe2\x95\x98", "\xe2\x95\x90", "\xe2\x95\xa7", "\xe2\x95\x9b");
  fputs(o.s, stdout);
  free(o.s);
  free(w);
}

/* ---- input ------------------------------------------------------------------------------------------------ */

typedef struct {
  char ***refs; /* refs[r][i] */
  int nrefs;
  int64_t nlines;
  xm_lines *files;
  int nfiles;
} ref_set;

static void read_refs(const cli *a, ref_set *rs) {
  rs->files = calloc((size_t)a->nrefs, sizeof *rs->files);
  if (!rs->files) die(1, "out of memory");
  rs->nfiles = a->nrefs;
  for (int f = 0; f < a->nrefs; f++)
    if (xm_read_lines(a->refs[f], 0, &rs->files[f])) die(1, "%s", xlat_metrics_error());
  rs->nrefs = a->num_refs > 1 ? a->num_refs : a->nrefs;
  rs->refs = calloc((size_t)rs->nrefs, sizeof *rs->refs);
  if (!rs->refs) die(1, "out of memory");
  if (a->num_refs == 1) {
    for (int f = 0; f < a->nrefs; f++) rs->refs[f] = rs->files[f].line;
    rs->nlines = rs->files[0].n;
    return;
  }
  /* -nr: TAB-separated references, split at the first nr-1 TABs as Python's split(maxsplit) */
  xm_lines *l = &rs->files[0];
  for (int r = 0; r < rs->nrefs; r++) {
    rs->refs[r] = malloc(((size_t)l->n + 1) * sizeof **rs->refs);
    if (!rs->refs[r]) die(1, "out of memory");
  }
  for (int64_t i = 0; i < l->n; i++) {
    char *p = l->line[i];
    for (int r = 0; r < rs->nrefs; r++) {
      char *tab = r + 1 < rs->nrefs ? strchr(p, '\t') : NULL;
      if (r + 1 < rs->nrefs && !tab) {
        int found = r + 1;
        die(17, "FATAL: line %lld: expected %d fields, but found %d.", (long long)i + 1, rs->nrefs, found);
      }
      if (tab) *tab = 0;
      rs->refs[r][i] = p;
      if (tab) p = tab + 1;
    }
  }
  rs->nlines = l->n;
}

typedef struct {
  char **name;
  char ***hyp; /* hyp[s][i] */
  int64_t *n;
  int nsys;
  xm_lines *files; /* what owns the text: one per -i file, or stdin and its TAB fields */
  int nfiles;
  xm_lines in, *fields;
} systems;

static void read_systems(const cli *a, int paired, systems *sy) {
  int cap = a->ninputs > 0 ? a->ninputs : 1;
  sy->name = calloc((size_t)cap + 64, sizeof *sy->name);
  sy->hyp = calloc((size_t)cap + 64, sizeof *sy->hyp);
  sy->n = calloc((size_t)cap + 64, sizeof *sy->n);
  if (!sy->name || !sy->hyp || !sy->n) die(1, "out of memory");
  if (a->ninputs == 0) {
    int k = 0;
    if (xm_read_lines("-", 1, &sy->in)) die(1, "%s", xlat_metrics_error());
    if (xm_split_fields(&sy->in, &k, &sy->fields))
      die(17, "FATAL: the number of tab-delimited fields in the input stream differ across lines.");
    sy->name = realloc(sy->name, (size_t)k * sizeof *sy->name);
    sy->hyp = realloc(sy->hyp, (size_t)k * sizeof *sy->hyp);
    sy->n = realloc(sy->n, (size_t)k * sizeof *sy->n);
    if (!sy->name || !sy->hyp || !sy->n) die(1, "out of memory");
    for (int s = 0; s < k; s++) {
      char buf[64];
      if (paired)
        snprintf(buf, sizeof buf, s == 0 ? "Baseline" : "System %d", s);
      else
        snprintf(buf, sizeof buf, "System %d", s + 1);
      sy->name[s] = strdup(buf);
      sy->hyp[s] = sy->fields[s].line;
      sy->n[s] = sy->fields[s].n;
    }
    sy->nsys = sy->nfiles = k;
    return;
  }
  sy->files = calloc((size_t)a->ninputs, sizeof *sy->files);
  if (!sy->files) die(1, "out of memory");
  for (int f = 0; f < a->ninputs; f++) {
    int dup = 0;
    for (int g = 0; g < f; g++) dup |= strcmp(a->inputs[g], a->inputs[f]) == 0;
    if (dup) {
      if (paired && strcmp(a->inputs[0], a->inputs[f]) == 0) {
        if (!a->quiet)
          fprintf(stderr, "xlat-bleu: Ignoring '%s' as it was also given as the baseline.\n", a->inputs[f]);
        continue;
      }
      die(1, "'%s' already used to name a system.\nMake sure to have a different basename for each system.",
          a->inputs[f]);
    }
    xm_lines *l = &sy->files[sy->nfiles++];
    if (xm_read_lines(a->inputs[f], 0, l)) die(1, "%s", xlat_metrics_error());
    str nm = {0};
    if (paired && sy->nsys == 0) sputs(&nm, "Baseline: ");
    sputs(&nm, a->inputs[f]);
    sy->name[sy->nsys] = nm.s;
    sy->hyp[sy->nsys] = l->line;
    sy->n[sy->nsys] = l->n;
    sy->nsys++;
  }
}

static uint64_t seed_from_env(char *text, size_t cap) {
  const char *s = getenv("SACREBLEU_SEED");
  if (!s) s = "12345";
  if (strcmp(s, "none") == 0 || strcmp(s, "None") == 0 || strcmp(s, "NONE") == 0) {
    snprintf(text, cap, "none");
    return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  }
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s) die(2, "SACREBLEU_SEED: expected an integer or 'none', got '%s'", s);
  snprintf(text, cap, "%lld", v);
  return (uint64_t)v;
}

/* ---- modes ------------------------------------------------------------------------------------------------ */

static int cmp_metric_name(const void *x, const void *y) { /* sacreBLEU sorts by name: BLEU, CHRF, TER */
  return *(const int *)x - *(const int *)y;
}

static void warn_tokenized(const cli *a, char **hyps, int64_t n) {
  if (a->force) return; /* a warning: shown even with -q, as Python's logging does */
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t len = strlen(hyps[i]);
    count += len >= 2 && hyps[i][len - 2] == ' ' && hyps[i][len - 1] == '.';
  }
  if (count >= 100)
    fprintf(stderr, "xlat-bleu: That's 100 lines that end in a tokenized period ('.')\n"
                    "xlat-bleu: It looks like you forgot to detokenize your test data, which may hurt your score.\n"
                    "xlat-bleu: If you insist your data is detokenized, or don't care, you can suppress this message "
                    "with the `force` parameter.\n");
}

static void sentence_mode(const cli *a, const systems *sy, const ref_set *rs) {
  metric m = {a->metric_order[0], a, 0};
  int eff = m.kind == M_BLEU;
  m.ns = m.kind == M_BLEU ? XLAT_BLEU_NSTATS : m.kind == M_CHRF ? xlat_chrf_nstats(&a->chrf) : 2;
  cli sa = *a;
  sa.bleu.effective_order = 1;
  m.a = &sa;
  double sum[256], *st = compute(&m, sy->hyp[0], rs->refs, sy->n[0], rs->nrefs, 1, sum);
  char name[64], verbose[256] = "";
  metric_name(&m, name, sizeof name);
  char *sig = signature(&m, rs->nrefs, NULL, a->shortsig, eff);
  for (int64_t i = 0; i < sy->n[0]; i++) {
    const double *row = st + (size_t)i * (size_t)m.ns;
    if (m.kind == M_BLEU) bleu_verbose(&m, row, 1, verbose, sizeof verbose);
    char *line = format_score(name, score_of(row, &m), sig, verbose, a->width, a->score_only, 0, 0, 0, 0);
    puts(line);
    free(line);
  }
  free(sig);
  free(st);
}

static void single_mode(const cli *a, const systems *sy, const ref_set *rs, int is_json) {
  int order[M_COUNT];
  memcpy(order, a->metric_order, sizeof order);
  qsort(order, (size_t)a->nmetrics, sizeof *order, cmp_metric_name);
  char *results[M_COUNT];
  char seed_text[32];
  uint64_t seed = seed_from_env(seed_text, sizeof seed_text);
  for (int k = 0; k < a->nmetrics; k++) {
    metric m = {order[k], a, 0};
    m.ns = m.kind == M_BLEU ? XLAT_BLEU_NSTATS : m.kind == M_CHRF ? xlat_chrf_nstats(&a->chrf) : 2;
    double sum[256], *st = compute(&m, sy->hyp[0], rs->refs, sy->n[0], rs->nrefs, a->confidence, sum);
    double mean = 0, ci = 0;
    sig_extra x = {NULL, NULL, NULL};
    char bs[32];
    if (a->confidence) {
      if (xlat_bootstrap_ci(st, sy->n[0], m.ns, score_of, &m, a->confidence_n, seed, &mean, &ci))
        die(1, "%s", xlat_metrics_error());
      snprintf(bs, sizeof bs, "%d", a->confidence_n);
      x.bs = bs, x.seed = seed_text;
    }
    char name[64], verbose[256] = "";
    metric_name(&m, name, sizeof name);
    if (m.kind == M_BLEU) bleu_verbose(&m, sum, 0, verbose, sizeof verbose);
    char *sig = signature(&m, rs->nrefs, &x, is_json ? 0 : a->shortsig, 0);
    results[k] =
        format_score(name, score_of(sum, &m), sig, verbose, a->width, a->score_only, is_json, a->confidence, mean, ci);
    free(sig);
    free(st);
  }
  if (is_json) {
    if (a->nmetrics > 1) {
      printf("[\n");
      for (int k = 0; k < a->nmetrics; k++) printf("%s%s\n", results[k], k + 1 < a->nmetrics ? "," : "");
      printf("]\n");
    } else {
      puts(results[0]);
    }
  } else if (a->nmetrics == 1) {
    puts(results[0]);
  } else { /* aligned on '=' (score-only lines have none and are printed first, as they are) */
    int w = 0;
    for (int k = 0; k < a->nmetrics; k++) {
      char *eq = strchr(results[k], '=');
      if (!eq)
        puts(results[k]);
      else if (text_width(results[k], (size_t)(eq - results[k]) - 1) > w)
        w = text_width(results[k], (size_t)(eq - results[k]) - 1);
    }
    for (int k = 0; k < a->nmetrics; k++) {
      char *eq = strchr(results[k], '=');
      if (!eq) continue;
      size_t left = (size_t)(eq - results[k]) - 1;
      for (int p = text_width(results[k], left); p < w; p++) putchar(' ');
      puts(results[k]);
    }
  }
  for (int k = 0; k < a->nmetrics; k++) free(results[k]);
}

static char *fmt_cell(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *s = strdup(buf);
  if (!s) die(1, "out of memory");
  return s;
}

static void multi_mode(const cli *a, const systems *sy, const ref_set *rs) {
  int paired = a->paired_bs || a->paired_ar;
  int order[M_COUNT];
  memcpy(order, a->metric_order, sizeof order);
  qsort(order, (size_t)a->nmetrics, sizeof *order, cmp_metric_name);
  int ncol = a->nmetrics + 1, nrows = sy->nsys + 1;
  char **cells = calloc((size_t)(ncol * nrows), sizeof *cells);
  char *sigs[M_COUNT], names[M_COUNT][64];
  char seed_text[32], nbuf[32];
  uint64_t seed = seed_from_env(seed_text, sizeof seed_text);
  if (!cells) die(1, "out of memory");
  cells[0] = fmt_cell("System");
  for (int s = 0; s < sy->nsys; s++) cells[(s + 1) * ncol] = fmt_cell("%s", sy->name[s]);
  int w = a->width;
  for (int k = 0; k < a->nmetrics; k++) {
    metric m = {order[k], a, 0};
    m.ns = m.kind == M_BLEU ? XLAT_BLEU_NSTATS : m.kind == M_CHRF ? xlat_chrf_nstats(&a->chrf) : 2;
    metric_name(&m, names[k], sizeof names[k]);
    sig_extra x = {NULL, NULL, NULL};
    snprintf(nbuf, sizeof nbuf, "%d", a->paired_bs ? a->paired_bs_n : a->paired_ar_n);
    if (paired) {
      x.bs = a->paired_bs ? nbuf : NULL;
      x.ar = a->paired_ar ? nbuf : NULL;
      x.seed = seed_text; /* sacreBLEU writes "none" for an unseeded run */
    }
    sigs[k] = signature(&m, rs->nrefs, &x, a->shortsig, 0);
    cells[k + 1] = fmt_cell(a->paired_bs ? "%s (\xce\xbc \xc2\xb1 95%% CI)" : "%s", names[k]);
    double *base = NULL, sum[256];
    for (int s = 0; s < sy->nsys; s++) {
      double *st = compute(&m, sy->hyp[s], rs->refs, sy->n[s], rs->nrefs, paired, sum);
      double score = score_of(sum, &m), p = 0, mean = 0, ci = 0;
      char **cell = &cells[(s + 1) * ncol + k + 1];
      if (!paired) {
        *cell = fmt_cell("%.*f", w, score);
      } else if (s == 0) {
        if (a->paired_bs && xlat_bootstrap_ci(st, sy->n[s], m.ns, score_of, &m, a->paired_bs_n, seed, &mean, &ci))
          die(1, "%s", xlat_metrics_error());
        *cell =
            a->paired_bs ? fmt_cell("%.*f (%.*f \xc2\xb1 %.*f)", w, score, w, mean, w, ci) : fmt_cell("%.*f", w, score);
      } else if (a->paired_bs) {
        if (xlat_paired_bootstrap(base, st, sy->n[s], m.ns, score_of, &m, a->paired_bs_n, seed, &p, &mean, &ci))
          die(1, "%s", xlat_metrics_error());
        *cell = fmt_cell("%.*f (%.*f \xc2\xb1 %.*f)\n(p = %.4f)%s", w, score, w, mean, w, ci, p, p > 0.05 ? "" : "*");
      } else {
        if (xlat_paired_ar(base, st, sy->n[s], m.ns, score_of, &m, a->paired_ar_n, seed, &p))
          die(1, "%s", xlat_metrics_error());
        *cell = fmt_cell("%.*f\n(p = %.4f)%s", w, score, p, p > 0.05 ? "" : "*");
      }
      if (s == 0)
        base = st;
      else
        free(st);
    }
    free(base);
  }
  print_table(cells, nrows, ncol);
  printf("\n");
  if (paired) {
    char msg[160];
    snprintf(msg, sizeof msg, "Paired %s test with %d %s",
             a->paired_bs ? "bootstrap resampling" : "approximate randomization",
             a->paired_bs ? a->paired_bs_n : a->paired_ar_n, a->paired_bs ? "resampling trials" : "trials");
    size_t len = strlen(msg);
    for (size_t k = 0; k < len; k++) putchar('-');
    printf("\n%s\n", msg);
    for (size_t k = 0; k < len; k++) putchar('-');
    printf("\n - Each system is pairwise compared to %s.\n", sy->name[0]);
    if (a->paired_bs)
      printf("   Actual system score / bootstrap estimated true mean / 95%% CI are provided for each metric.\n");
    else
      printf("   Actual system score is provided for each metric.\n");
    printf("\n"
           " - Null hypothesis: the system and the baseline translations are essentially\n"
           "   generated by the same underlying process. For a given system and the baseline,\n"
           "   the p-value is roughly the probability of the absolute score difference (delta)\n"
           "   or higher occurring due to chance, under the assumption that the null hypothesis is correct.\n"
           "\n"
           " - Assuming a significance threshold of 0.05, the null hypothesis can be rejected\n"
           "   for p-values < 0.05 (marked with \"*\"). This means that the delta is unlikely to be attributed\n"
           "   to chance, hence the system is significantly \"different\" than the baseline.\n"
           "   Otherwise, the p-values are highlighted in red.\n"
           "\n"
           " - NOTE: Significance does not tell whether a system is \"better\" than the baseline but rather\n"
           "   emphasizes the \"difference\" of the systems in terms of the replicability of the delta.\n"
           "\n");
  }
  printf("-----------------\nMetric signatures\n-----------------\n");
  for (int k = 0; k < a->nmetrics; k++) {
    printf(" - %-10s %s\n", names[k], sigs[k]);
    free(sigs[k]);
  }
  for (int c = 0; c < ncol * nrows; c++) free(cells[c]);
  free(cells);
}

int main(int argc, char **argv) {
  cli a;
  parse_args(argc, argv, &a);
  int paired = a.paired_bs || a.paired_ar;
  ref_set rs = {0};
  read_refs(&a, &rs);
  systems sy = {0};
  read_systems(&a, paired, &sy);
  if (a.sentence) {
    if (sy.nsys > 1) die(1, "Only one system can be evaluated in sentence-level mode.");
    if (a.confidence || paired) die(1, "Statistical tests are unavailable in sentence-level mode.");
  }
  if (paired && sy.nsys == 1) die(1, "Paired tests require multiple input systems given to --input (-i).");
  if (sy.nsys > 1 && a.confidence) die(1, "Use paired tests (--paired) for multiple systems.");
  for (int s = 0; s < sy.nsys; s++) {
    if (sy.n[s] == 0) die(1, "Test set None contains no sentence");
    for (int f = 0; f < rs.nfiles; f++) {
      int64_t nr = rs.files[f].n;
      if (nr != sy.n[s])
        die(1, "System and reference streams have different lengths. (%s: %lld lines, %s: %lld lines)",
            a.ninputs ? a.inputs[s] : "stdin", (long long)sy.n[s], a.refs[f], (long long)nr);
    }
  }
  int uses_bleu = 0;
  for (int k = 0; k < a.nmetrics; k++) uses_bleu |= a.metric_order[k] == M_BLEU;
  if (uses_bleu && !a.sentence) warn_tokenized(&a, sy.hyp[0], sy.n[0]);
  /* as in sacreBLEU, a valid SACREBLEU_FORMAT overrides -f */
  const char *env = getenv("SACREBLEU_FORMAT"), *fmt = a.format ? a.format : "json";
  if (env && (strcasecmp(env, "json") == 0 || strcasecmp(env, "text") == 0 || strcasecmp(env, "latex") == 0))
    fmt = strcasecmp(env, "json") == 0 ? "json" : "text";
  if (a.sentence)
    sentence_mode(&a, &sy, &rs);
  else if (sy.nsys == 1)
    single_mode(&a, &sy, &rs, strcmp(fmt, "json") == 0);
  else
    multi_mode(&a, &sy, &rs);
  if (fflush(stdout) || ferror(stdout)) die(1, "error writing the output");
  for (int s = 0; s < sy.nsys; s++) free(sy.name[s]);
  if (a.ninputs) {
    for (int f = 0; f < sy.nfiles; f++) xm_lines_free(&sy.files[f]);
  } else {
    for (int f = 0; f < sy.nfiles; f++) free(sy.fields[f].line); /* the text belongs to sy.in */
    free(sy.fields);
    xm_lines_free(&sy.in);
  }
  free(sy.files);
  free(sy.name);
  free(sy.hyp);
  free(sy.n);
  if (a.num_refs > 1)
    for (int r = 0; r < rs.nrefs; r++) free(rs.refs[r]);
  for (int f = 0; f < rs.nfiles; f++) xm_lines_free(&rs.files[f]);
  free(rs.files);
  free(rs.refs);
  free(a.refs);
  free(a.inputs);
  return 0;
}
