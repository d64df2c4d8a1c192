/* xlat-spm - train a SentencePiece BPE model, encode text to pieces or ids, decode them back.
 *
 * Flags follow SentencePiece's own spm_train / spm_encode / spm_decode (both --model-prefix and --model_prefix,
 * --flag VALUE and --flag=VALUE are accepted). encode and decode read stdin (or the files named after the flags)
 * and write stdout, one line in, one line out. Exit status: 0 success, 1 runtime failure, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io.h"
#include "spm.h"

#define MAX_INPUTS 64

static const char usage_text[] =
    "usage: xlat-spm train --input FILE[,FILE...] --model-prefix PREFIX [--vocab-size N]\n"
    "                      [--character-coverage X] [--seed N] [--input-sentence-size N] [--num-threads N]\n"
    "                      [--normalization-rule-name identity|nmt_nfkc|nfkc|nmt_nfkc_cf|nfkc_cf]\n"
    "                      [--remove-extra-whitespaces true|false]\n"
    "       xlat-spm encode --model M [--output-format piece|id] [--output FILE] [FILE...]\n"
    "       xlat-spm decode --model M [--input-format piece|id] [--output FILE] [FILE...]\n"
    "       xlat-spm --help | --version\n"
    "\n"
    "train   learns a joint BPE vocabulary from the text files (plain or .gz, one sentence per line) and writes\n"
    "        PREFIX.model and PREFIX.vocab: ordinary SentencePiece files (spm_encode gives the same ids). Defaults:\n"
    "        vocabulary 8000, character coverage 1.0, seed 1, all sentences, 2 threads, identity normalization and\n"
    "        whitespace kept (text -> ids -> text is lossless for characters in the vocabulary; TAB never is).\n"
    "        Special ids: <pad> 0, <unk> 1, <s> 2, </s> 3.\n"
    "encode  one line of text in, one line of space-separated pieces (default) or ids out.\n"
    "decode  one line of space-separated pieces (default) or ids in, one line of text out.\n"
    "Input files (plain or .gz; CRLF line ends read like LF; a NUL byte is an error) default to stdin, output to\n"
    "stdout; --output FILE and the trained files are replaced only when complete.\n"
    "Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "xlat-spm: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(xlat-spm --help shows the usage)\n");
  return 2;
}

static int parse_bool(const char *s, int *out) {
  if (!strcmp(s, "true") || !strcmp(s, "1"))
    *out = 1;
  else if (!strcmp(s, "false") || !strcmp(s, "0"))
    *out = 0;
  else
    return 0;
  return 1;
}

static int cmd_train(int argc, char **argv) {
  xlat_spm_train_options o;
  xlat_spm_train_options_default(&o);
  static char input_list[65536];
  const char *inputs[MAX_INPUTS];
  int n_inputs = 0;
  for (int i = 2; i < argc; i++) {
    const char *v = NULL;
    int64_t n;
    int r;
    if ((r = xlat_cli_flag(argc, argv, &i, "--input", &v))) {
      if (r < 0) return usage_error("%s needs a value", argv[i]);
      if (strlen(v) >= sizeof input_list) return usage_error("--input list too long: %s", v);
      strcpy(input_list, v);
      n_inputs = 0;
      for (char *tok = strtok(input_list, ","); tok; tok = strtok(NULL, ",")) {
        if (n_inputs == MAX_INPUTS) return usage_error("--input: more than 64 files in %s", v);
        inputs[n_inputs++] = tok;
      }
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--model-prefix", &v))) {
      if (r < 0) return usage_error("%s needs a value", argv[i]);
      o.model_prefix = v;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--vocab-size", &v))) {
      if (r < 0 || !xlat_cli_i64(v, 5, 1 << 24, &n))
        return usage_error("--vocab-size: expected an integer >= 5, got %s", v ? v : "nothing");
      o.vocab_size = (int32_t)n;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--character-coverage", &v))) {
      char *end;
      double x = r < 0 ? 0 : strtod(v, &end);
      if (r < 0 || *end || !(x > 0.0 && x <= 1.0))
        return usage_error("--character-coverage: expected a number in (0, 1], got %s", v ? v : "nothing");
      o.character_coverage = (float)x;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--seed", &v))) {
      if (r < 0 || !xlat_cli_i64(v, 0, 4294967295L, &n))
        return usage_error("--seed: expected an integer >= 0, got %s", v ? v : "nothing");
      o.seed = (uint32_t)n;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--input-sentence-size", &v))) {
      if (r < 0 || !xlat_cli_i64(v, 0, 2147483647L, &n))
        return usage_error("--input-sentence-size: expected an integer >= 0, got %s", v ? v : "nothing");
      o.input_sentence_size = (int32_t)n;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--num-threads", &v))) {
      if (r < 0 || !xlat_cli_i64(v, 1, 1024, &n))
        return usage_error("--num-threads: expected an integer >= 1, got %s", v ? v : "nothing");
      o.num_threads = (int32_t)n;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--normalization-rule-name", &v))) {
      static const char *const rules[] = {"identity", "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf"};
      int known = 0;
      for (size_t k = 0; r > 0 && k < sizeof rules / sizeof rules[0]; k++) known |= !strcmp(v, rules[k]);
      if (!known)
        return usage_error(
            "--normalization-rule-name: expected identity, nmt_nfkc, nfkc, nmt_nfkc_cf or nfkc_cf, got %s",
            v ? v : "nothing");
      o.normalization = v;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--remove-extra-whitespaces", &v))) {
      int b;
      if (r < 0 || !parse_bool(v, &b))
        return usage_error("--remove-extra-whitespaces: expected true or false, got %s", v ? v : "nothing");
      o.remove_extra_whitespaces = b;
    } else {
      return usage_error("train: unknown argument %s", argv[i]);
    }
  }
  if (n_inputs == 0) return usage_error("train: %s", "--input FILE[,FILE...] is required");
  if (!o.model_prefix) return usage_error("train: %s", "--model-prefix PREFIX is required");
  o.inputs = inputs;
  o.n_inputs = n_inputs;
  if (xlat_spm_train(&o) != 0) {
    fprintf(stderr, "xlat-spm: %s\n", xlat_spm_last_error());
    return 1;
  }
  fprintf(stderr, "xlat-spm: wrote %s.model and %s.vocab\n", o.model_prefix, o.model_prefix);
  return 0;
}

/* Turns one input line into one output line (without "\n") in *out (malloc'ed); 0 or -1 with a message in err. */
typedef int (*line_fn)(const xlat_spm *s, int ids, char *line, size_t len, char **out, char *err, size_t errn);

static int encode_line(const xlat_spm *s, int ids, char *line, size_t len, char **out, char *err, size_t errn) {
  if (!ids) {
    if (xlat_spm_encode_pieces(s, line, len, out) != 0) return snprintf(err, errn, "%s", xlat_spm_last_error()), -1;
    return 0;
  }
  int32_t *v;
  size_t n;
  if (xlat_spm_encode_ids(s, line, len, &v, &n) != 0) return snprintf(err, errn, "%s", xlat_spm_last_error()), -1;
  char *buf = malloc(n * 12 + 1), *p = buf;
  if (!buf) {
    free(v);
    return snprintf(err, errn, "out of memory"), -1;
  }
  *p = '\0';
  for (size_t i = 0; i < n; i++) p += sprintf(p, i ? " %d" : "%d", (int)v[i]);
  free(v);
  *out = buf;
  return 0;
}

static int decode_line(const xlat_spm *s, int ids, char *line, size_t len, char **out, char *err, size_t errn) {
  if (!ids) {
    if (xlat_spm_decode_pieces(s, line, len, out) != 0) return snprintf(err, errn, "%s", xlat_spm_last_error()), -1;
    return 0;
  }
  int32_t *v = malloc((len / 2 + 1) * sizeof *v);
  size_t n = 0;
  if (!v) return snprintf(err, errn, "out of memory"), -1;
  int32_t vocab = xlat_spm_vocab_size(s);
  for (char *p = line;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    char *end;
    errno = 0;
    long x = strtol(p, &end, 10);
    if (errno || end == p || (*end && *end != ' ' && *end != '\t') || x < 0 || x >= vocab) {
      free(v);
      return snprintf(err, errn, "expected ids in [0, %d) separated by spaces, found \"%.20s\"", (int)vocab, p), -1;
    }
    v[n++] = (int32_t)x;
    p = end;
  }
  int rc = xlat_spm_decode_ids(s, v, n, out);
  free(v);
  if (rc != 0) return snprintf(err, errn, "%s", xlat_spm_last_error()), -1;
  return 0;
}

/* One output line per input line of path ("-": stdin), through io.h's line reader (plain or gzip, CRLF read like LF). */
static int process(const char *path, FILE *out, const xlat_spm *s, int ids, line_fn fn) {
  const char *name = strcmp(path, "-") ? path : "<stdin>";
  xlat_lines *in;
  if (xlat_lines_open(path, &in) != XLAT_OK) {
    fprintf(stderr, "xlat-spm: %s\n", xlat_last_error());
    return 1;
  }
  char *line = NULL, *res, err[1200];
  size_t cap = 0, len;
  const char *text;
  xlat_status st;
  int rc = 0;
  while ((st = xlat_lines_next(in, &text, &len)) == XLAT_OK && text) {
    long long lineno = (long long)xlat_lines_number(in);
    size_t nul = xlat_nul_at(text, len);
    if (nul < len) {
      fprintf(stderr, "xlat-spm: %s:%lld: a NUL byte at byte %zu: expected text\n", name, lineno, nul + 1);
      rc = 1;
      break;
    }
    if (len + 1 > cap) { /* the line functions may write into their input */
      char *grown = realloc(line, len + 1);
      if (!grown) {
        fprintf(stderr, "xlat-spm: %s:%lld: out of memory\n", name, lineno);
        rc = 1;
        break;
      }
      line = grown;
      cap = len + 1;
    }
    memcpy(line, text, len + 1);
    if (fn(s, ids, line, len, &res, err, sizeof err) != 0) {
      fprintf(stderr, "xlat-spm: %s:%lld: %s\n", name, lineno, err);
      rc = 1;
      break;
    }
    fputs(res, out);
    fputc('\n', out);
    free(res);
  }
  if (rc == 0 && st != XLAT_OK) {
    fprintf(stderr, "xlat-spm: %s\n", xlat_last_error());
    rc = 1;
  }
  xlat_lines_close(in);
  free(line);
  return rc;
}

static int cmd_code(int argc, char **argv, int encode) {
  const char *model = NULL, *format = "piece", *output = NULL;
  const char *format_flag = encode ? "--output-format" : "--input-format";
  int first_file = argc;
  for (int i = 2; i < argc; i++) {
    const char *v = NULL;
    int r;
    if ((r = xlat_cli_flag(argc, argv, &i, "--model", &v))) {
      if (r < 0) return usage_error("%s needs a value", argv[i]);
      model = v;
    } else if ((r = xlat_cli_flag(argc, argv, &i, format_flag, &v))) {
      if (r < 0 || (strcmp(v, "piece") && strcmp(v, "id")))
        return usage_error("expected piece or id after the format flag, got %s", v ? v : "nothing");
      format = v;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--output", &v))) {
      if (r < 0) return usage_error("%s needs a value", argv[i]);
      output = v;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return usage_error("unknown argument %s", argv[i]);
    } else {
      first_file = i;
      for (int j = i; j < argc; j++)
        if (argv[j][0] == '-' && argv[j][1] == '-') return usage_error("flags must come before the files: %s", argv[j]);
      break;
    }
  }
  if (!model) return usage_error("%s: --model M is required", argv[1]);
  xlat_spm *s;
  if (xlat_spm_load(model, &s) != 0) {
    fprintf(stderr, "xlat-spm: %s\n", xlat_spm_last_error());
    return 1;
  }
  /* --output is replaced only when complete (io.h): an error or an interrupt leaves the previous file */
  xlat_atomic_file af = {0};
  FILE *out = stdout;
  if (output && strcmp(output, "-") != 0) {
    if (xlat_atomic_open(&af, output) != XLAT_OK) {
      fprintf(stderr, "xlat-spm: %s\n", xlat_last_error());
      xlat_spm_free(s);
      return 1;
    }
    out = af.f;
  }
  int ids = !strcmp(format, "id"), rc = 0;
  line_fn fn = encode ? encode_line : decode_line;
  if (first_file == argc) rc = process("-", out, s, ids, fn);
  for (int i = first_file; i < argc && rc == 0; i++) rc = process(argv[i], out, s, ids, fn);
  if (af.path) {
    if (rc != 0) {
      xlat_atomic_abort(&af);
    } else if (xlat_atomic_commit(&af) != XLAT_OK) {
      fprintf(stderr, "xlat-spm: %s\n", xlat_last_error());
      rc = 1;
    }
  } else if (fflush(out) != 0 || ferror(out)) {
    fprintf(stderr, "xlat-spm: <stdout>: write error: %s\n", strerror(errno));
    rc = 1;
  }
  xlat_spm_free(s);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage_error("%s", "missing command (train, encode or decode)");
  const char *cmd = argv[1];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--version")) {
      printf("xlat-spm %s\n", XLAT_VERSION);
      return 0;
    }
  }
  xlat_atomic_guard_signals(); /* an interrupt or a file-size limit leaves no partial output file */
  if (!strcmp(cmd, "train")) return cmd_train(argc, argv);
  if (!strcmp(cmd, "encode")) return cmd_code(argc, argv, 1);
  if (!strcmp(cmd, "decode")) return cmd_code(argc, argv, 0);
  return usage_error("unknown command %s (expected train, encode or decode)", cmd);
}
