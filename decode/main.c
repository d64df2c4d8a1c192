/* xlat-decode - translate text with trained xlat models: flags -> options -> doc_translate (document.c).
 *
 * Flags accept "--flag VALUE" and "--flag=VALUE". Exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#include <dirent.h>
#include <libgen.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attention.h"
#include "cli.h"
#include "document.h"
#include "serve.h"

#define MAX_MODELS 16
#define DEFAULT_MAX_INPUT 512 /* tokens per segment unless --max-input-tokens says otherwise */

static const char usage_text[] =
    "usage: xlat-decode --model M.xlat [--model M2.xlat ...] [--spm S.model] [options] [< input] [> output]\n"
    "\n"
    "Translates one input line to one output line (blank lines stay blank), in input order.\n"
    "  --model FILE            model (repeat for an ensemble: log-probabilities averaged)\n"
    "  --spm FILE              SentencePiece model (default: spm.model, or the only *.model, beside the model); of\n"
    "                          the source for a model with separate vocabularies (default: spm.src.model beside it)\n"
    "  --tgt-spm FILE          the target's SentencePiece model, for a model with separate vocabularies (default:\n"
    "                          spm.tgt.model beside it)\n"
    "  --input FILE            plain or gzip text, one sentence or paragraph per line (default: stdin)\n"
    "  --output FILE           written to FILE.tmp and renamed when complete (default: stdout)\n"
    "  --beam N                beam size, 1 = greedy (default 5)\n"
    "  --n-best K              print the K best as Moses n-best lines: LINE ||| TEXT ||| SCORE (default 1)\n"
    "  --length-penalty A      GNMT length penalty alpha: score = logprob / ((5 + len) / 6)^A (default 0.6)\n"
    "  --max-length-a A        outputs have at most A * source tokens + B tokens (default 2)\n"
    "  --max-length-b B        (default 10)\n"
    "  --format F              text | scores (SCORE<TAB>TEXT) | ids | align (TEXT ||| s-t pairs) | json\n"
    "  --split-sentences       translate each sentence of a line separately, join them back into the line\n"
    "  --input-format F        text (a line in, a line out) | markdown | html: the input is one document whose\n"
    "                          markup is kept; inline tags follow the aligned words\n"
    "  --max-input-tokens N    longer lines are split at sentence ends, or cut (default: the model's max length, at\n"
    "                          most 512: attention's cost grows with the square of a segment's length)\n"
    "  --score FILE            forced decoding: print the score of each line of FILE as translation of the input\n"
    "  --attention-svg FILE    also draw the first model's attention for the first input line with text (its best\n"
    "                          translation, or with --score its target) as an SVG heatmap: output x source pieces\n"
    "  --attention-svg DIR/    (an existing directory, or a path ending in /) one heatmap per segment of every\n"
    "                          line: DIR/line-N.svg, DIR/line-N-K.svg for a line's segment K > 1\n"
    "  --threads N             worker threads, one BLAS thread each (default 2)\n"
    "  --batch-size N          sentences per mini-batch (default 32)\n"
    "  --batch-tokens N        padded source tokens per mini-batch (default 2048)\n"
    "  --window N              input lines sorted by length together (default 1024)\n"
    "  --state-mb N            decoding state per thread and model, in MB (default 96)\n"
    "  --quiet                 no warnings\n"
    "\n"
    "Service (instead of translating the input):\n"
    "  --serve HOST:PORT       HTTP service, LibreTranslate's API: POST /translate, GET /languages, the web page\n"
    "                          at /, POST /attention; port 0 takes a free port (printed); SIGTERM stops it\n"
    "  --source-lang CODE      what the model translates, as /languages tells clients (default en)\n"
    "  --target-lang CODE      (default de)\n"
    "  --queue N               sentences waiting at most; a request beyond gets 503 (default 4096)\n"
    "  --timeout S             seconds a request may wait for its translation, else 504 (default 60)\n"
    "  --help, --version\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "xlat-decode: %s%s\n(xlat-decode --help shows the usage)\n", what, arg ? arg : "");
  return 2;
}

/* The SentencePiece model saved beside the model: DIR/NAME when it exists; else, when any_model, the only DIR/ *.model.
 * malloc'ed or NULL. */
static char *spm_beside(const char *model_path, const char *name, int any_model) {
  char *copy = strdup(model_path);
  if (!copy) return NULL;
  const char *dir = dirname(copy);
  size_t n = strlen(dir) + 300;
  char *path = malloc(n);
  if (!path) {
    free(copy);
    return NULL;
  }
  snprintf(path, n, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  int exists = f != NULL;
  if (f) fclose(f);
  if (exists || !any_model) {
    free(copy);
    if (exists) return path;
    free(path);
    return NULL;
  }
  DIR *d = opendir(dir);
  int found = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    if (l > 6 && strcmp(e->d_name + l - 6, ".model") == 0 && strlen(e->d_name) < 250) {
      snprintf(path, n, "%s/%s", dir, e->d_name);
      found++;
    }
  }
  if (d) closedir(d);
  free(copy);
  if (found == 1) return path;
  free(path);
  return NULL;
}

/* Loads the tokenizers of models (the first one's, which all must share): src_path and tgt_path as given (--spm,
 * --tgt-spm), else found beside the first model; *tgt == *src for a joint vocabulary. Returns 0, or the exit status
 * after saying why. */
static int load_tokenizers(const char *const *paths, xlat_model *const *models, int n, const char *src_path,
                           const char *tgt_path, xlat_spm **src, xlat_spm **tgt) {
  int separate = xlat_model_config(models[0])->src_vocab_size != 0, rc = 0;
  char *found[2] = {NULL, NULL};
  if (separate && (src_path != NULL) != (tgt_path != NULL)) {
    fprintf(stderr, "xlat-decode: %s has separate source and target vocabularies: give %s too\n", paths[0],
            src_path ? "--tgt-spm" : "--spm");
    rc = 2;
  } else if (separate) {
    if (!src_path) src_path = found[0] = spm_beside(paths[0], "spm.src.model", 0);
    if (!tgt_path) tgt_path = found[1] = spm_beside(paths[0], "spm.tgt.model", 0);
    if (!src_path || !tgt_path) {
      fprintf(stderr, "xlat-decode: %s has separate source and target vocabularies and no spm.src.model and "
                      "spm.tgt.model beside it: give --spm and --tgt-spm\n", paths[0]);
      rc = 2;
    }
  } else if (tgt_path) {
    fprintf(stderr, "xlat-decode: %s has one joint vocabulary: drop --tgt-spm\n", paths[0]);
    rc = 2;
  } else if (!src_path && !(src_path = found[0] = spm_beside(paths[0], "spm.model", 1))) {
    fprintf(stderr, "xlat-decode: no spm.model (or single *.model) beside %s: give --spm\n", paths[0]);
    rc = 2;
  }
  if (rc == 0 && (xlat_spm_load(src_path, src) != 0 || xlat_spm_check_ids(*src, src_path) != 0 ||
                  (tgt_path && (xlat_spm_load(tgt_path, tgt) != 0 || xlat_spm_check_ids(*tgt, tgt_path) != 0)))) {
    fprintf(stderr, "xlat-decode: %s\n", xlat_spm_last_error());
    rc = 1;
  }
  if (rc == 0 && !tgt_path) *tgt = *src;
  char names[600] = "";
  if (rc == 0) snprintf(names, sizeof names, tgt_path ? "%s and %s" : "%s", src_path, tgt_path);
  for (int m = 0; m < n && rc == 0; m++) {
    const xlat_config *cm = xlat_model_config(models[m]);
    uint64_t want = xlat_model_tokenizer_checksum(models[m]), have = xlat_spm_pair_checksum(*src, *tgt);
    if (want != 0 && want != have) {
      fprintf(stderr, "xlat-decode: %s was trained with another SentencePiece model than %s (checksum %016llx, "
                      "expected %016llx)\n", paths[m], names, (unsigned long long)have, (unsigned long long)want);
      rc = 1;
    } else if (xlat_spm_vocab_size(*tgt) != cm->vocab_size ||
               xlat_spm_vocab_size(*src) != xlat_config_src_vocab(cm)) {
      fprintf(stderr, "xlat-decode: %s: %d (source) and %d (target) pieces, but %s expects vocabularies of %d and "
                      "%d\n", names, xlat_spm_vocab_size(*src), xlat_spm_vocab_size(*tgt), paths[m],
              xlat_config_src_vocab(cm), cm->vocab_size);
      rc = 1;
    }
  }
  free(found[0]);
  free(found[1]);
  return rc;
}

int main(int argc, char **argv) {
  if (xlat_cpu_setup(argv) != XLAT_OK) return usage_error(xlat_last_error(), NULL);
  xlat_atomic_guard_signals(); /* an interrupted run leaves no FILE.tmp behind */
  /* A fixed threshold: decoding state is freed and regrown as batches change shape, and glibc's adaptive one would
   * then keep the freed blocks in the heap (about 90 MB more peak memory for a small model at beam 5). */
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  doc_options o;
  memset(&o, 0, sizeof o);
  xlat_translator_options_default(&o.tr);
  o.window = 1024;
  o.format = FORMAT_TEXT;
  const char *model_paths[MAX_MODELS], *spm_path = NULL, *tgt_spm_path = NULL, *format = NULL, *svg_path = NULL,
             *input_format = NULL;
  doc_first first;
  memset(&first, 0, sizeof first);
  serve_options serve = {NULL, "en", "de", 60.0};
  int32_t queue = 4096;
  int n_models = 0;
  int32_t max_input = 0;
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    int r;
#define FLAG(name) ((r = xlat_cli_flag(argc, argv, &i, name, &v)) != 0)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage_text, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      char kernels[160];
      printf("xlat-decode %s (%s)\n", XLAT_VERSION, xlat_cpu_describe(kernels, sizeof kernels));
      return 0;
    } else if (!strcmp(argv[i], "--split-sentences")) {
      o.tr.split_sentences = 1;
      continue;
    } else if (!strcmp(argv[i], "--quiet")) {
      o.quiet = 1;
      continue;
    } else if (FLAG("--model")) {
      if (r > 0 && n_models == MAX_MODELS) return usage_error("too many models, at most 16", NULL);
      if (r > 0) model_paths[n_models++] = v;
    } else if (FLAG("--spm")) {
      spm_path = v;
    } else if (FLAG("--tgt-spm")) {
      tgt_spm_path = v;
    } else if (FLAG("--input")) {
      o.input = v;
    } else if (FLAG("--output")) {
      o.output = v;
    } else if (FLAG("--score")) {
      o.score_path = v;
    } else if (FLAG("--attention-svg")) {
      svg_path = v;
    } else if (FLAG("--serve")) {
      serve.address = v;
    } else if (FLAG("--source-lang")) {
      serve.source_lang = v;
    } else if (FLAG("--target-lang")) {
      serve.target_lang = v;
    } else if (FLAG("--queue")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 24, &queue)) return usage_error("--queue expects >= 1, got ", v);
    } else if (FLAG("--timeout")) {
      float t = 0;
      if (r > 0 && !xlat_cli_float(v, 1e-4f, 86400.0f, &t))
        return usage_error("--timeout expects 0.0001..86400, got ", v);
      serve.timeout = t;
    } else if (FLAG("--input-format")) {
      input_format = v;
    } else if (FLAG("--format")) {
      format = v;
    } else if (FLAG("--beam")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1024, &o.tr.beam.beam_size))
        return usage_error("--beam expects 1..1024, got ", v);
    } else if (FLAG("--n-best")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1024, &o.tr.beam.n_best))
        return usage_error("--n-best expects 1..1024, got ", v);
    } else if (FLAG("--length-penalty")) {
      if (r > 0 && !xlat_cli_float(v, 0.0f, 10.0f, &o.tr.beam.length_penalty))
        return usage_error("--length-penalty expects 0..10, got ", v);
    } else if (FLAG("--max-length-a")) {
      if (r > 0 && !xlat_cli_float(v, 0.0f, 1000.0f, &o.tr.beam.max_len_a))
        return usage_error("--max-length-a expects 0..1000, got ", v);
    } else if (FLAG("--max-length-b")) {
      if (r > 0 && !xlat_cli_float(v, -1000.0f, 100000.0f, &o.tr.beam.max_len_b))
        return usage_error("--max-length-b expects a number, got ", v);
    } else if (FLAG("--max-input-tokens")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 20, &max_input))
        return usage_error("--max-input-tokens expects >= 1, got ", v);
    } else if (FLAG("--threads")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 256, &o.tr.threads)) return usage_error("--threads expects 1..256, got ", v);
    } else if (FLAG("--batch-size")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 16, &o.tr.batch_size))
        return usage_error("--batch-size expects >= 1, got ", v);
    } else if (FLAG("--batch-tokens")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 24, &o.tr.batch_tokens))
        return usage_error("--batch-tokens expects >= 1, got ", v);
    } else if (FLAG("--window")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 24, &o.window)) return usage_error("--window expects >= 1, got ", v);
    } else if (FLAG("--state-mb")) {
      if (r > 0 && !xlat_cli_i32(v, 1, 1 << 20, &o.tr.beam.max_state_mb))
        return usage_error("--state-mb expects >= 1, got ", v);
    } else {
      return usage_error("unknown argument ", argv[i]);
    }
    if (r < 0) return usage_error("missing value after ", argv[i]);
#undef FLAG
  }
  if (n_models == 0) return usage_error("--model is required", NULL);
  if (o.tr.beam.n_best > o.tr.beam.beam_size) return usage_error("--n-best must not exceed --beam", NULL);
  if (format) {
    static const char *const names[] = {"text", "scores", "ids", "align", "json"};
    int k = 0;
    while (k < 5 && strcmp(format, names[k])) k++;
    if (k == 5) return usage_error("--format expects text, scores, ids, align or json, got ", format);
    o.format = (out_format)k;
  }
  if (o.tr.beam.n_best > 1 && o.format != FORMAT_JSON) {
    if (format && o.format != FORMAT_TEXT)
      return usage_error("--n-best prints Moses n-best lines; use it with --format json or none", NULL);
    o.format = FORMAT_NBEST;
  }
  if (o.score_path && (o.tr.split_sentences || o.tr.beam.n_best > 1))
    return usage_error("--score scores whole lines: it takes no --split-sentences or --n-best", NULL);
  o.tr.beam.alignments = o.format == FORMAT_ALIGN || o.format == FORMAT_JSON;
  if (svg_path) {
    struct stat st;
    size_t l = strlen(svg_path);
    if ((l > 0 && svg_path[l - 1] == '/') || (stat(svg_path, &st) == 0 && S_ISDIR(st.st_mode)))
      o.attention_dir = svg_path;
    else
      o.first = &first;
  }
  xlat_markup_format markup = XLAT_MARKUP_TEXT;
  if (input_format) {
    static const char *const names[] = {"text", "markdown", "html"};
    int k = 0;
    while (k < 3 && strcmp(input_format, names[k])) k++;
    if (k == 3) return usage_error("--input-format expects text, markdown or html, got ", input_format);
    markup = (xlat_markup_format)k;
  }
  if (markup != XLAT_MARKUP_TEXT) {
    if (o.score_path || format || svg_path || o.tr.beam.n_best > 1 || serve.address)
      return usage_error("--input-format markdown|html writes the translated document: it takes no --score, "
                         "--format, --attention-svg, --n-best or --serve", NULL);
    o.tr.beam.alignments = 1; /* inline tags follow the aligned words */
  }
  if (serve.address) {
    if (o.input || o.output || o.score_path || format || svg_path || o.tr.beam.n_best > 1)
      return usage_error("--serve answers HTTP requests: it takes no --input, --output, --score, --format, "
                         "--attention-svg or --n-best", NULL);
    o.tr.max_queued = queue;
    o.tr.beam.alignments = 1; /* format "html": inline tags follow the aligned words */
  }
  if (xlat_dist_init(&argc, &argv) != XLAT_OK) { /* under mpirun: the ranks share the windows */
    fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
    return 1;
  }
  if (xlat_dist_size() > 1 && (!o.input || !strcmp(o.input, "-"))) {
    xlat_dist_finalize();
    return usage_error("under mpirun every rank reads the input: give --input FILE (not standard input)", NULL);
  }
  if (xlat_dist_rank() > 0) o.quiet = 1; /* rank 0 speaks for all */

  int rc = 1;
  xlat_model *models[MAX_MODELS] = {0};
  xlat_spm *src_spm = NULL, *tgt_spm = NULL;
  for (int m = 0; m < n_models; m++)
    if (xlat_model_load(model_paths[m], &models[m]) != XLAT_OK) {
      fprintf(stderr, "xlat-decode: %s\n", xlat_last_error());
      goto done;
    }
  if ((rc = load_tokenizers(model_paths, models, n_models, spm_path, tgt_spm_path, &src_spm, &tgt_spm)) != 0)
    goto done;
  rc = 1;
  o.tr.models = (const xlat_model *const *)models;
  o.tr.n_models = n_models;
  o.tr.src_spm = src_spm;
  o.tr.tgt_spm = tgt_spm;
  int32_t longest = xlat_model_config(models[0])->max_len;
  for (int m = 1; m < n_models; m++)
    if (xlat_model_config(models[m])->max_len < longest) longest = xlat_model_config(models[m])->max_len;
  if (!max_input) max_input = DEFAULT_MAX_INPUT;
  o.tr.max_input = max_input < longest ? max_input : longest;
  if (serve.address) {
    if (xlat_dist_size() > 1) {
      fprintf(stderr, "xlat-decode: --serve runs as one process, not under mpirun\n");
      rc = 2;
      goto done;
    }
    rc = serve_run(&o, &serve);
    goto done;
  }
  if (markup != XLAT_MARKUP_TEXT) {
    if (xlat_dist_size() > 1) {
      fprintf(stderr, "xlat-decode: --input-format %s runs as one process, not under mpirun\n", input_format);
      rc = 2;
      goto done;
    }
    rc = doc_translate_markup(&o, markup);
    goto done;
  }
  rc = doc_translate(&o);
  if (rc == 0 && o.first && xlat_dist_rank() == 0)
    rc = attention_svg(&o, &first, o.input && strcmp(o.input, "-") ? o.input : "standard input", svg_path);
done:
  free(first.src);
  free(first.tgt);
  for (int m = 0; m < n_models; m++) xlat_model_free(models[m]);
  if (tgt_spm != src_spm) xlat_spm_free(tgt_spm);
  xlat_spm_free(src_spm);
  if (rc == 1) xlat_dist_abort(rc); /* the other ranks would wait for this one */
  xlat_dist_finalize();
  return rc;
}
