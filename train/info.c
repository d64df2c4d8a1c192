/* info.c - `xlat-train info [--json] MODEL.xlat`: everything a checkpoint stores except the weights.
 *
 * The file is checked whole (every section's CRC) by xlat_checkpoint_read_info before anything is printed. The
 * hyper-parameters carry the names of the flags that set them (config.c lists them), so what info shows can be
 * given back to xlat-train as flags or config keys. Training progress exists only in checkpoints with trainer
 * state (last.xlat); best.xlat, step-N.xlat and averages hold weights only and say so.
 */
#include "info.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "options.h"

static const char info_usage[] =
    "usage: xlat-train info [--json] MODEL.xlat\n"
    "Describes a checkpoint: architecture and hyper-parameters (named as xlat-train's flags), parameter count,\n"
    "tokenizer checksum and, for a checkpoint with trainer state (last.xlat), updates, epochs, dev scores,\n"
    "training time and optimizer options. --json prints one JSON object instead. The whole file is checked first;\n"
    "a file that is not a checkpoint, or a damaged one, is an error (exit 1).\n";

/* s as a JSON string. */
static void json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static void json_items(const config_item *it, int n) {
  for (int i = 0; i < n; i++) {
    printf("%s\n    \"%s\": ", i ? "," : "", it[i].key);
    if (it[i].kind == 'e')
      json_string(it[i].text);
    else
      fputs(it[i].text, stdout);
  }
}

static const char *number(char *buf, size_t n, double v) { return config_number(buf, n, v, 0); }

static void print_json(const char *path, const xlat_checkpoint_info *ck) {
  config_item it[CONFIG_MAX_ITEMS];
  char described[256], b[40];
  printf("{\n  \"file\": ");
  json_string(path);
  printf(",\n  \"format_version\": %u,\n  \"bytes\": %llu,\n  \"architecture\": ", ck->version,
         (unsigned long long)ck->bytes);
  json_string(xlat_config_describe(&ck->cfg, described, sizeof described));
  printf(",\n  \"config\": {\n    \"vocab-size\": %d,", ck->cfg.vocab_size);
  if (ck->cfg.src_vocab_size) printf("\n    \"src-vocab-size\": %d,", ck->cfg.src_vocab_size);
  json_items(it, config_model_items(&ck->cfg, it));
  printf("\n  },\n  \"parameters\": %zu,\n  \"tokenizer_checksum\": \"%016llx\",\n  \"trainer_state\": %s,\n"
         "  \"ema_weights\": %s",
         ck->num_params, (unsigned long long)ck->tokenizer_checksum, ck->has_trainer ? "true" : "false",
         ck->has_ema ? "true" : "false");
  if (ck->has_trainer) {
    const xlat_progress *p = &ck->progress;
    int validated = p->validations > 0;
    printf(",\n  \"updates\": %lld,\n  \"epoch\": %lld,\n  \"batch_in_epoch\": %lld,\n  \"sentences_seen\": %lld,\n"
           "  \"target_tokens_seen\": %lld,\n  \"training_seconds\": %s,\n  \"validations\": %lld,\n"
           "  \"validations_since_best\": %lld,\n",
           (long long)ck->step, (long long)p->epoch + 1, (long long)p->batch_in_epoch, (long long)p->sentences_seen,
           (long long)p->target_tokens_seen, number(b, sizeof b, p->train_seconds), (long long)p->validations,
           (long long)p->bad_validations);
    printf("  \"best_dev_bleu\": %s,\n",
           validated && isfinite(p->best_bleu) ? number(b, sizeof b, p->best_bleu) : "null");
    printf("  \"best_dev_loss\": %s,\n",
           validated && isfinite(p->best_dev_loss) ? number(b, sizeof b, p->best_dev_loss) : "null");
    printf("  \"optimizer\": {");
    json_items(it, config_optimizer_items(&ck->opt, it));
    printf("\n  }");
  }
  printf("\n}\n");
}

static void print_text(const char *path, const xlat_checkpoint_info *ck) {
  config_item it[CONFIG_MAX_ITEMS];
  char described[256];
  printf("checkpoint       %s: format version %u, %.1f MB, %s%s\n", path, ck->version, (double)ck->bytes / 1e6,
         ck->has_trainer ? "weights and trainer state (resumable)" : "weights only",
         ck->has_ema ? ", EMA weights" : "");
  printf("model            %s\n", xlat_config_describe(&ck->cfg, described, sizeof described));
  printf("parameters       %zu (%.2fM)\n", ck->num_params, (double)ck->num_params / 1e6);
  printf("tokenizer        checksum %016llx%s\n", (unsigned long long)ck->tokenizer_checksum,
         ck->tokenizer_checksum ? "" : " (unset)");
  printf("hyper-parameters\n  %-20s %d\n", "vocab-size", ck->cfg.vocab_size);
  if (ck->cfg.src_vocab_size) printf("  %-20s %d\n", "src-vocab-size", ck->cfg.src_vocab_size);
  int n = config_model_items(&ck->cfg, it);
  for (int i = 0; i < n; i++) printf("  %-20s %s\n", it[i].key, it[i].text);
  if (!ck->has_trainer) {
    printf("training         no trainer state in this file (the run's last.xlat has it)\n");
    return;
  }
  const xlat_progress *p = &ck->progress;
  double t = p->train_seconds;
  printf("training\n  %-20s %lld\n", "updates", (long long)ck->step);
  printf("  %-20s %lld (batch %lld of it)\n", "epoch", (long long)p->epoch + 1, (long long)p->batch_in_epoch);
  printf("  %-20s %lld sentences, %lld target tokens\n", "seen", (long long)p->sentences_seen,
         (long long)p->target_tokens_seen);
  printf("  %-20s %.1f s (%dh %02dm %02ds)\n", "training time", t, (int)(t / 3600), (int)fmod(t / 60, 60),
         (int)fmod(t, 60));
  printf("  %-20s %lld (%lld since the best)\n", "validations", (long long)p->validations,
         (long long)p->bad_validations);
  if (p->validations > 0) {
    printf("  %-20s %.2f%s\n", "best dev BLEU", p->best_bleu,
           p->best_bleu == 0 ? " (also when not computed: --valid-metric loss)" : "");
    printf("  %-20s %.4f nats per token\n", "best dev loss", p->best_dev_loss);
  }
  printf("optimizer\n");
  n = config_optimizer_items(&ck->opt, it);
  for (int i = 0; i < n; i++) printf("  %-20s %s\n", it[i].key, it[i].text);
}

int info_main(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(info_usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return train_usage_error("unknown argument ", argv[i]);
    } else if (path) {
      return train_usage_error("info takes one checkpoint; a second: ", argv[i]);
    } else {
      path = argv[i];
    }
  }
  if (!path) return train_usage_error("info needs a checkpoint: xlat-train info [--json] MODEL.xlat", NULL);
  xlat_checkpoint_info ck;
  if (xlat_checkpoint_read_info(path, &ck) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    return 1;
  }
  if (json)
    print_json(path, &ck);
  else
    print_text(path, &ck);
  return fflush(stdout) == 0 ? 0 : 1;
}
