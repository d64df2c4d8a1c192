/* config.h - xlat-train's YAML configuration files: `--config FILE` read with libyaml into "--key=value" arguments
 * that go through the one flag parser (options.c) before the command line's, and the resolved configuration
 * written back as YAML (--dump-config, OUT/config.yml) together with OUT/command.txt. */
#ifndef XLAT_TRAIN_CONFIG_H
#define XLAT_TRAIN_CONFIG_H

#include <stdio.h>

#include "options.h"

/* Where a key of the config file and its value are (1-based lines and columns). */
typedef struct {
  char *key;
  int key_line, key_col, line, col;
} config_mark;

/* The arguments the parser reads: the file's options, then the command line's. */
struct config_args {
  const char *path;   /* the --config file; NULL without one */
  int argc, from_file; /* argv[0..from_file) came from the file, the rest from the command line */
  char **argv;        /* (argc): "--key=value" for each key of the file (owned), then the command line's arguments */
  config_mark *marks; /* (from_file) */
};

/* Finds --config FILE (or --config=FILE, at most once) in argv[first..argc) and reads FILE: a YAML mapping of flag
 * names without "--" to scalar values; a null value (`key:`, `~`, `null`) leaves the option at its default. Fills *c
 * with the file's options followed by the command line's (without --config), so the command line wins. Returns -1
 * when ready, else the exit status (2) after a message on stderr naming FILE:LINE:COLUMN, the key and what was
 * expected. Free *c with config_args_free either way. */
int config_args_build(int argc, char **argv, int first, struct config_args *c);
void config_args_free(struct config_args *c);
/* A usage error about argument i of c (value: the value found, or NULL): the file's line, column and key for an
 * argument from the file. Returns the exit status 2. */
int config_args_error(const struct config_args *c, int i, const char *what, const char *value);
/* An argument the parser does not know: "unknown key" naming the file's line and column, or "unknown argument". */
int config_args_unknown(const struct config_args *c, int i);

/* One setting for display: its key (a flag name without "--"), its value as text and the value's kind. */
typedef struct {
  const char *key;
  char kind; /* 'n' number, 'b' boolean (text "true" / "false"), 'e' a name (architecture, activation, ...) */
  char text[72];
} config_item;
enum { CONFIG_MAX_ITEMS = 24 };
/* The model's settings that flags set, for its architecture (a Transformer's or a recurrent model's); the count. */
int config_model_items(const xlat_config *cfg, config_item *out);
/* The optimizer's settings: max-tokens, lr, warmup-steps, adam-betas, adam-eps, clip-norm, weight-decay,
 * label-smoothing, ema-decay; the count. */
int config_optimizer_items(const xlat_train_options *o, config_item *out);
/* The shortest decimal text that reads back (strtod, then to float when is_float) as v exactly; returns buf. */
const char *config_number(char *buf, size_t n, double v, int is_float);

/* Writes every option of a with its effective value as YAML that --config reads back to the same configuration;
 * the model's settings from cfg and the optimizer's from o (a resumed run's come from its checkpoint). */
void config_write(FILE *f, const train_args *a, const xlat_config *cfg, const xlat_train_options *o);
/* Writes DIR/config.yml (config_write) and DIR/command.txt (a's command line, shell-quoted), each atomically.
 * Returns 0, or -1 after a message on stderr. */
int config_save(const char *dir, const train_args *a, const xlat_config *cfg, const xlat_train_options *o);

#endif
