/* config.c - xlat-train's configuration files, as Marian's `-c config.yml`.
 *
 * Reading: libyaml's document loader gives the file's nodes with their marks (line, column); the top-level mapping
 * becomes one "--key=value" argument per key, placed before the command line's arguments and parsed by the same
 * code (options.c), so there is one table of flags, the command line overrides the file wherever it names a flag,
 * and a bad value is reported by the check the flag has anyway, with the file's line and column added.
 * Writing: every option with its effective value, as YAML that reads back to the same configuration. This file
 * knows no flag's range or meaning beyond the names it writes.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cli.h"
#include "files.h"

/* ---- reading ----------------------------------------------------------------------------------------------------- */

static const char *node_kind(const yaml_node_t *n) {
  return n->type == YAML_SEQUENCE_NODE ? "a sequence" : n->type == YAML_MAPPING_NODE ? "a mapping" : "a scalar";
}

/* Reports a problem at a mark of the file; returns 2. */
static int file_error(const char *path, yaml_mark_t m, const char *fmt, const char *a1, const char *a2) {
  fprintf(stderr, "xlat-train: %s:%zu:%zu: ", path, m.line + 1, m.column + 1);
  fprintf(stderr, fmt, a1, a2);
  fputs("\n", stderr);
  return 2;
}

/* A plain scalar YAML reads as null: the option keeps its default. */
static int is_null(const yaml_node_t *v) {
  const char *s = (const char *)v->data.scalar.value;
  return v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
         (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

/* Keys name flags, whose '-' and '_' are interchangeable (cli.h): d-model and d_model are one key. */
static int same_key(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))) return 0;
  return *a == *b;
}

/* Appends the file's options to c->argv and c->marks; -1 or the exit status. */
static int read_file(const char *path, struct config_args *c) {
  int cap = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "xlat-train: --config %s: cannot open: %s\n", path, strerror(errno));
    return 2;
  }
  yaml_parser_t p;
  yaml_document_t d;
  int rc = -1, have_doc = 0;
  if (!yaml_parser_initialize(&p)) {
    fclose(f);
    fprintf(stderr, "xlat-train: --config %s: out of memory\n", path);
    return 1;
  }
  yaml_parser_set_input_file(&p, f);
  if (!yaml_parser_load(&p, &d)) {
    char what[256];
    snprintf(what, sizeof what, "%s%s%s", p.problem ? p.problem : "unreadable", p.context ? " " : "",
             p.context ? p.context : "");
    rc = file_error(path, p.problem_mark, "invalid YAML: %s%s", what, "");
    goto done;
  }
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&d);
  if (!root) goto done; /* an empty file (or only comments): no options */
  if (root->type != YAML_MAPPING_NODE) {
    rc = file_error(path, root->start_mark, "expected a mapping of options (`d-model: 512` lines), found %s%s",
                    node_kind(root), "");
    goto done;
  }
  for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
    yaml_node_t *k = yaml_document_get_node(&d, pair->key), *v = yaml_document_get_node(&d, pair->value);
    if (k->type != YAML_SCALAR_NODE) {
      rc = file_error(path, k->start_mark, "expected an option name as the key, found %s%s", node_kind(k), "");
      goto done;
    }
    const char *key = (const char *)k->data.scalar.value;
    if (v->type != YAML_SCALAR_NODE) {
      rc = file_error(path, v->start_mark, "%s: expected a single value (a scalar), found %s", key, node_kind(v));
      goto done;
    }
    const char *val = (const char *)v->data.scalar.value;
    if (strlen(key) != k->data.scalar.length || strlen(val) != v->data.scalar.length || !*key) {
      rc = file_error(path, k->start_mark, "%s%s: an empty key or a NUL byte", key, "");
      goto done;
    }
    if (!strcmp(key, "config")) {
      rc = file_error(path, k->start_mark, "%s: a config file cannot name another one%s", key, "");
      goto done;
    }
    for (int j = 0; j < c->from_file; j++)
      if (same_key(c->marks[j].key, key)) {
        char first[32];
        snprintf(first, sizeof first, "%d", c->marks[j].key_line);
        rc = file_error(path, k->start_mark, "%s: given twice (first on line %s)", key, first);
        goto done;
      }
    if (is_null(v)) continue;
    if (c->from_file == cap) {
      cap = cap ? 2 * cap : 32;
      char **argv = realloc(c->argv, (size_t)cap * sizeof *argv);
      if (argv) c->argv = argv;
      config_mark *marks = realloc(c->marks, (size_t)cap * sizeof *marks);
      if (marks) c->marks = marks;
      if (!argv || !marks) {
        fprintf(stderr, "xlat-train: --config %s: out of memory\n", path);
        rc = 1;
        goto done;
      }
    }
    size_t n = strlen(key) + strlen(val) + 4;
    char *arg = malloc(n), *kcopy = strdup(key);
    if (!arg || !kcopy) {
      free(arg);
      free(kcopy);
      fprintf(stderr, "xlat-train: --config %s: out of memory\n", path);
      rc = 1;
      goto done;
    }
    snprintf(arg, n, "--%s=%s", key, val);
    c->argv[c->from_file] = arg;
    c->marks[c->from_file] = (config_mark){kcopy, (int)k->start_mark.line + 1, (int)k->start_mark.column + 1,
                                           (int)v->start_mark.line + 1, (int)v->start_mark.column + 1};
    c->from_file++;
  }
  /* one document: a second one ("---") would be silently ignored otherwise */
  yaml_document_t next;
  if (!yaml_parser_load(&p, &next)) {
    rc = file_error(path, p.problem_mark, "invalid YAML: %s%s", p.problem ? p.problem : "unreadable", "");
    goto done;
  }
  yaml_node_t *more = yaml_document_get_root_node(&next);
  if (more) rc = file_error(path, more->start_mark, "a second YAML document: give one mapping of options%s%s", "", "");
  yaml_document_delete(&next);
done:
  if (have_doc) yaml_document_delete(&d);
  yaml_parser_delete(&p);
  fclose(f);
  return rc;
}

int config_args_build(int argc, char **argv, int first, struct config_args *c) {
  memset(c, 0, sizeof *c);
  int at = -1, at_end = -1; /* argv[at..at_end]: --config FILE or --config=FILE */
  for (int i = first; i < argc; i++) {
    const char *v;
    int start = i, r = xlat_cli_flag(argc, argv, &i, "--config", &v);
    if (r < 0) return train_usage_error("missing value after ", argv[i]);
    if (r == 0) continue;
    if (c->path) return train_usage_error("--config is given twice: ", v);
    c->path = v;
    at = start, at_end = i;
  }
  if (c->path) {
    int rc = read_file(c->path, c);
    if (rc >= 0) return rc;
  }
  char **all = realloc(c->argv, (size_t)(c->from_file + argc + 1) * sizeof *all);
  if (!all) {
    fprintf(stderr, "xlat-train: out of memory\n");
    return 1;
  }
  c->argv = all;
  c->argc = c->from_file;
  for (int i = first; i < argc; i++)
    if (i < at || i > at_end) c->argv[c->argc++] = argv[i];
  c->argv[c->argc] = NULL;
  return -1;
}

void config_args_free(struct config_args *c) {
  if (!c) return;
  for (int i = 0; i < c->from_file; i++) {
    free(c->argv[i]);
    free(c->marks[i].key);
  }
  free(c->argv);
  free(c->marks);
}

int config_args_error(const struct config_args *c, int i, const char *what, const char *value) {
  if (!c || i >= c->from_file) return train_usage_error(what, value);
  const config_mark *m = &c->marks[i];
  if (!strncmp(what, "--", 2) && strchr(what, ' ')) what = strchr(what, ' ') + 1; /* the key names the flag */
  fprintf(stderr, "xlat-train: %s:%d:%d: %s: %s%s\n", c->path, m->line, m->col, m->key, what, value ? value : "");
  return 2;
}

int config_args_unknown(const struct config_args *c, int i) {
  if (!c || i >= c->from_file) return train_usage_error("unknown argument ", c ? c->argv[i] : NULL);
  const config_mark *m = &c->marks[i];
  fprintf(stderr, "xlat-train: %s:%d:%d: unknown key '%s': expected the name of a flag without its leading \"--\", "
                  "e.g. d-model (xlat-train --help lists them)\n", c->path, m->key_line, m->key_col, m->key);
  return 2;
}

/* ---- the settings as text ---------------------------------------------------------------------------------------- */

const char *config_number(char *buf, size_t n, double v, int is_float) {
  if (!buf || n == 0) return buf;
  if (fabs(v) < 1e15 && v == (double)(long long)v) { /* 2250, not 2.25e+03 */
    snprintf(buf, n, "%lld", (long long)v);
    return buf;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    double back = strtod(buf, NULL);
    if (is_float ? (float)back == (float)v : back == v) break;
  }
  return buf;
}

static config_item *item(config_item *it, const char *key, char kind) {
  it->key = key;
  it->kind = kind;
  return it;
}
static void item_int(config_item *it, const char *key, long long v) {
  snprintf(item(it, key, 'n')->text, sizeof it->text, "%lld", v);
}
static void item_float(config_item *it, const char *key, float v) {
  config_number(item(it, key, 'n')->text, sizeof it->text, v, 1);
}
static void item_bool(config_item *it, const char *key, int v) {
  snprintf(item(it, key, 'b')->text, sizeof it->text, "%s", v ? "true" : "false");
}
static void item_name(config_item *it, const char *key, const char *name) {
  snprintf(item(it, key, 'e')->text, sizeof it->text, "%s", name ? name : "?");
}

int config_model_items(const xlat_config *c, config_item *out) {
  static const char *const activations[] = {"relu", "gelu"}, *const positions[] = {"sinusoidal", "learned", "relative"},
                           *const attentions[] = {"none", "dot", "general", "additive"};
  int n = 0;
  item_name(&out[n++], "arch", xlat_arch_name(c->arch));
  item_int(&out[n++], "d-model", c->d_model);
  if (c->arch == XLAT_ARCH_TRANSFORMER) {
    item_int(&out[n++], "d-ff", c->d_ff);
    item_int(&out[n++], "heads", c->n_heads);
  } else {
    item_int(&out[n++], "emb-dim", c->emb_dim);
  }
  item_int(&out[n++], "enc-layers", c->enc_layers);
  item_int(&out[n++], "dec-layers", c->dec_layers);
  item_int(&out[n++], "max-len", c->max_len);
  item_bool(&out[n++], "tied-embeddings", c->tied_embeddings);
  if (c->arch == XLAT_ARCH_TRANSFORMER) {
    item_bool(&out[n++], "pre-norm", c->pre_norm);
    item_name(&out[n++], "activation", c->activation >= 0 && c->activation < 2 ? activations[c->activation] : NULL);
    item_name(&out[n++], "positions", c->positions >= 0 && c->positions < 3 ? positions[c->positions] : NULL);
    if (c->positions == XLAT_POS_RELATIVE) item_int(&out[n++], "relative-clip", c->rel_clip);
  } else {
    item_name(&out[n++], "attention", c->attention >= 0 && c->attention < 4 ? attentions[c->attention] : NULL);
    item_bool(&out[n++], "bidirectional", c->bidirectional);
    item_bool(&out[n++], "input-feeding", c->input_feeding);
  }
  item_float(&out[n++], "dropout", c->dropout);
  if (c->arch == XLAT_ARCH_TRANSFORMER) item_float(&out[n++], "attention-dropout", c->attn_dropout);
  return n;
}

int config_optimizer_items(const xlat_train_options *o, config_item *out) {
  int n = 0;
  item_int(&out[n++], "max-tokens", o->max_tokens);
  item_float(&out[n++], "lr", o->lr);
  item_int(&out[n++], "warmup-steps", o->warmup_steps);
  char b1[32], b2[32];
  snprintf(item(&out[n++], "adam-betas", 'e')->text, sizeof out->text, "%s,%s",
           config_number(b1, sizeof b1, o->beta1, 1), config_number(b2, sizeof b2, o->beta2, 1));
  item_float(&out[n++], "adam-eps", o->eps);
  item_float(&out[n++], "clip-norm", o->clip_norm);
  item_float(&out[n++], "weight-decay", o->weight_decay);
  item_float(&out[n++], "label-smoothing", o->label_smoothing);
  item_float(&out[n++], "ema-decay", o->ema_decay);
  return n;
}

/* ---- writing ----------------------------------------------------------------------------------------------------- */

/* A path as a double-quoted YAML scalar (escapes for '"', '\' and control bytes), or null. */
static void put_string(FILE *f, const char *key, const char *s) {
  fprintf(f, "%s: ", key);
  if (!s) {
    fputs("null\n", f);
    return;
  }
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else
      fputc(*p, f);
  }
  fputs("\"\n", f);
}

static void put_items(FILE *f, const config_item *it, int n) {
  for (int i = 0; i < n; i++) fprintf(f, "%s: %s\n", it[i].key, it[i].text);
}

void config_write(FILE *f, const train_args *a, const xlat_config *cfg, const xlat_train_options *o) {
  config_item it[CONFIG_MAX_ITEMS];
  char num[40];
  fputs("# xlat-train configuration: every option with its effective value (xlat-train --config FILE reads it;\n"
        "# flags on the command line override it). The model's settings replace --preset.\n", f);
  fputs("\n# data\n", f);
  put_string(f, "train-src", a->train_src);
  put_string(f, "train-tgt", a->train_tgt);
  put_string(f, "valid-src", a->valid_src);
  put_string(f, "valid-tgt", a->valid_tgt);
  put_string(f, "spm", a->spm);
  put_string(f, "tgt-spm", a->tgt_spm);
  fprintf(f, "separate-vocabs: %s\n", a->separate_vocabs ? "true" : "false");
  if (a->vocab_size)
    fprintf(f, "vocab-size: %d\n", a->vocab_size);
  else
    fputs("vocab-size: null\n", f);
  put_string(f, "out", a->out);
  if (a->max_length)
    fprintf(f, "max-length: %d\n", a->max_length);
  else
    fputs("max-length: null  # the model's max-len\n", f);
  fprintf(f, "max-length-ratio: %s\n", config_number(num, sizeof num, a->max_ratio, 1));
  fprintf(f, "skip-invalid-utf8: %s\n", a->skip_invalid_utf8 ? "true" : "false");
  fprintf(f, "cache-shard-pairs: %lld\n", (long long)a->cache_shard_pairs);
  fputs("\n# model\n", f);
  put_items(f, it, config_model_items(cfg, it));
  put_string(f, "finetune", a->finetune);
  fputs("\n# optimizer and batches\n", f);
  put_items(f, it, config_optimizer_items(o, it));
  fprintf(f, "update-freq: %d\n", a->update_freq);
  fputs("\n# stopping (0: no limit)\n", f);
  fprintf(f, "max-steps: %lld\nmax-epochs: %lld\n", (long long)a->max_steps, (long long)a->max_epochs);
  fprintf(f, "max-time: %s\n", config_number(num, sizeof num, a->max_time, 0));
  fprintf(f, "early-stopping: %d\n", a->patience);
  fputs("\n# validation, saving, logging\n", f);
  fprintf(f, "valid-freq: %lld\n", (long long)a->valid_freq);
  static const char *const metric_names[] = {"bleu", "loss", "chrf"}; /* by valid_metric */
  fputs("valid-metrics: ", f);
  for (int k = 0; k < a->n_metrics; k++) fprintf(f, "%s%s", k ? "," : "", metric_names[a->metrics[k]]);
  fputc('\n', f);
  put_string(f, "valid-translation-output", a->valid_translation_output);
  fprintf(f, "valid-beam: %d\n", a->valid_beam);
  fprintf(f, "valid-length-penalty: %s\n", config_number(num, sizeof num, a->valid_length_penalty, 1));
  fprintf(f, "valid-max-sentences: %d\n", a->valid_max_sentences);
  fprintf(f, "save-freq: %lld\n", (long long)a->save_freq);
  fprintf(f, "keep-last: %d\n", a->keep_last);
  fprintf(f, "average-last: %d\n", a->average_last);
  fprintf(f, "log-freq: %lld\n", (long long)a->log_freq);
  fputs("\n# run\n", f);
  fprintf(f, "seed: %llu\n", (unsigned long long)a->seed);
  fprintf(f, "threads: %d\n", a->threads);
  fprintf(f, "resume: %s\n", a->resume ? "true" : "false");
}

/* One argument for a POSIX shell: as it is when it has only safe characters, else in single quotes. */
static void put_shell_word(FILE *f, const char *s) {
  if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") == strlen(s)) {
    fputs(s, f);
    return;
  }
  fputc('\'', f);
  for (; *s; s++)
    if (*s == '\'')
      fputs("'\\''", f);
    else
      fputc(*s, f);
  fputc('\'', f);
}

/* Writes what write() puts into a memory stream to path atomically; 0 or -1 after a message. */
static int save_text(const char *dir, const char *name, const train_args *a, const xlat_config *cfg,
                     const xlat_train_options *o) {
  char *path = files_join(dir, name), *text = NULL;
  size_t len = 0;
  FILE *f = path ? open_memstream(&text, &len) : NULL;
  if (!f) {
    free(path);
    fprintf(stderr, "xlat-train: out of memory\n");
    return -1;
  }
  if (cfg) {
    config_write(f, a, cfg, o);
  } else {
    for (int i = 0; i < a->argc; i++) {
      if (i) fputc(' ', f);
      put_shell_word(f, a->argv[i]);
    }
    fputc('\n', f);
  }
  int rc = 0;
  if (fclose(f) != 0 || !text) {
    fprintf(stderr, "xlat-train: out of memory\n");
    rc = -1;
  } else if (xlat_atomic_write_file(path, text, len) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    rc = -1;
  }
  free(text);
  free(path);
  return rc;
}

int config_save(const char *dir, const train_args *a, const xlat_config *cfg, const xlat_train_options *o) {
  return save_text(dir, "config.yml", a, cfg, o) != 0 || save_text(dir, "command.txt", a, NULL, NULL) != 0 ? -1 : 0;
}
