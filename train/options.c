/* options.c - xlat-train's flags: names as Marian and fairseq users expect them, defaults, --help text, checks.
 *
 * Flags accept "--flag VALUE" and "--flag=VALUE". Model dimensions start from --preset and each given flag
 * overrides one field, whatever the order on the command line. A --config file's keys arrive first as
 * "--key=value" (config.c), so the command line overrides them and flags without a value also take =true / =false.
 */
#include "options.h"

#include "cli.h"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage_text[] =
    "usage: xlat-train --train-src F --train-tgt F [--valid-src F --valid-tgt F] (--spm MODEL | --vocab-size N)\n"
    "                  --out DIR [options]\n"
    "       xlat-train average --output OUT.xlat IN.xlat [IN.xlat ...]\n"
    "       xlat-train plot --output OUT.svg [--metric dev_bleu|dev_loss|train_loss] [--title T] DIR[=LABEL] ...\n"
    "       xlat-train info [--json] MODEL.xlat\n"
    "\n"
    "Trains an encoder-decoder (a Transformer, or a recurrent model: --arch) on a parallel corpus (line i of\n"
    "--train-tgt translates line i of --train-src; plain or gzip). DIR receives last.xlat (full training state, for\n"
    "--resume), best.xlat (best dev score), spm.model, train.tsv (step, wall_s, train_loss, dev_loss, dev_bleu,\n"
    "dev_chrf, lr, tokens_per_s, grad_norm: the mean gradient norm before clipping), the id cache, config.yml (the\n"
    "resolved configuration, for --config) and command.txt.\n"
    "SIGINT / SIGTERM finish the current step, save last.xlat and exit 0; a second signal exits at once.\n"
    "The `average` subcommand writes the element-wise mean of the weights of its inputs; `plot` draws a metric of\n"
    "each run's DIR/train.tsv against training minutes as an SVG line chart, one line per run (plot --help); `info`\n"
    "describes a checkpoint: hyper-parameters, parameter count, tokenizer, updates, dev scores (info --help).\n"
    "\n"
    "Data:\n"
    "  --train-src FILE, --train-tgt FILE   training corpus\n"
    "  --valid-src FILE, --valid-tgt FILE   dev set: dev loss, dev BLEU, best.xlat, early stopping (optional)\n"
    "  --spm FILE               SentencePiece model (copied to DIR/spm.model; with --tgt-spm the source's,\n"
    "                           copied to DIR/spm.src.model)\n"
    "  --tgt-spm FILE           the target's own SentencePiece model (copied to DIR/spm.tgt.model): separate\n"
    "                           vocabularies, the source embedding apart from the target's\n"
    "  --vocab-size N           instead of --spm: train a joint BPE model of N pieces on both training sides\n"
    "  --separate-vocabs        with --vocab-size: train one BPE model of N pieces per side instead\n"
    "  --out DIR                output directory (created if missing)\n"
    "  --max-length N           skip training pairs with a side longer than N tokens (default: the model's max-len)\n"
    "  --max-length-ratio R     skip training pairs whose longer side has more than R times the tokens of the\n"
    "                           shorter (default 3; 0: keep all)\n"
    "  --skip-invalid-utf8      skip (and count) training pairs with invalid UTF-8 instead of stopping at the first\n"
    "  --cache-shard-pairs N    write the id cache of the training data in files of N input pairs (rounded up to a\n"
    "                           multiple of 2048: DIR/SRC+TGT.ids.0, .1, ...; default 0: one file)\n";
static const char usage_text_model[] =
    "Model (--preset first, then each given dimension overrides it):\n"
    "  --preset NAME            tiny (d 128, 2+2 layers), small (256, 3+3), base (512, 6+6), big (1024, 6+6);\n"
    "                           default small\n"
    "  --d-model N              embedding / model width (Marian --dim-emb)\n"
    "  --d-ff N                 feed-forward inner width (Marian --transformer-dim-ffn)\n"
    "  --heads N                attention heads (Marian --transformer-heads)\n"
    "  --enc-layers N, --dec-layers N   encoder / decoder depth (Marian --enc-depth / --dec-depth)\n"
    "  --max-len N              longest sequence in tokens (positions)\n"
    "  --pre-norm, --post-norm  layer norm before each block, or after it as in the paper (preset: post)\n"
    "  --activation NAME        relu or gelu (preset: relu)\n"
    "  --tied-embeddings 0|1    share source, target and output embeddings (preset: 1)\n"
    "  --positions NAME         sinusoidal (added to the embeddings, as in the paper), learned (a table added\n"
    "                           instead) or relative (none added; every self-attention learns embeddings of the\n"
    "                           key-query distance for keys and values, Shaw et al. 2018) (preset: sinusoidal)\n"
    "  --learned-positions 0|1  the same as --positions learned (1) or sinusoidal (0)\n"
    "  --relative-clip K        relative positions: distances beyond +-K share one embedding (default 16)\n"
    "  --dropout P              dropout on embeddings, residuals and the FFN (preset: 0.1)\n"
    "  --attention-dropout P    dropout on attention probabilities (preset: 0)\n"
    "  --finetune MODEL.xlat    start from these weights (same --spm) with a fresh optimizer and schedule\n";

/* Three pieces: C11 compilers need only support string literals of 4095 characters. */
static const char usage_text_rnn[] =
    "Recurrent models (Marian --type s2s, OpenNMT-py -rnn_type), instead of --preset:\n"
    "  --arch NAME              transformer (default), or a recurrent encoder-decoder of rnn (Elman tanh), gru or\n"
    "                           lstm cells: hidden size --d-model (default 256), --enc-layers = --dec-layers\n"
    "                           (default 1; the decoder starts from the encoder's final states), dropout 0.3\n"
    "  --emb-dim N              embedding size (default: --d-model; tied embeddings need it equal)\n"
    "  --attention NAME         none (the encoder's final state is the context of every step, Cho et al. 2014),\n"
    "                           dot or general (Luong et al. 2015), additive (Bahdanau et al. 2015; default)\n"
    "  --bidirectional 0|1      encoder layers run both ways, --d-model/2 units each (default 1)\n"
    "  --input-feeding 0|1      dot / general: the previous attentional vector joins the next input (default 0)\n";

static const char usage_text2[] =
    "Optimizer and batches:\n"
    "  --max-tokens N           tokens per batch, B * max(S, T) (Marian --mini-batch-words; default 4096)\n"
    "  --update-freq N          batches accumulated per update (Marian --optimizer-delay; default 1)\n"
    "  --lr X                   peak learning rate (default 7e-4)\n"
    "  --warmup-steps N         linear warmup, then lr * sqrt(warmup / step) (default 4000)\n"
    "  --adam-betas B1,B2       (default 0.9,0.98)\n"
    "  --adam-eps E             (default 1e-9)\n"
    "  --clip-norm X            clip the global gradient norm; 0 off (default 0)\n"
    "  --weight-decay X         decoupled weight decay (AdamW); 0 off (default 0)\n"
    "  --label-smoothing X      (default 0.1)\n"
    "  --ema-decay D            validate and save an exponential moving average of the weights, e.g. 0.9999\n"
    "                           (Marian --exponential-smoothing 1e-4); 0 off (default 0)\n"
    "Stopping:\n"
    "  --max-steps N            stop after N updates in all (default: no limit)\n"
    "  --max-epochs N           stop after N passes over the training data (default: no limit)\n"
    "  --max-time SECONDS       stop after this much training time, summed over resumes (default: no limit)\n"
    "  --early-stopping N       stop after N validations without a better dev score; 0 off (default 10)\n"
    "Validation, saving, logging (frequencies in updates):\n"
    "  --valid-freq N           validate every N updates (default 1000)\n"
    "  --valid-metrics M [M ...] bleu (13a, cased), chrf (chrF2, sacreBLEU's defaults) and / or loss (dev cross\n"
    "                           entropy; always computed): all logged at each validation, the first picks best.xlat\n"
    "                           and counts for --early-stopping; BLEU and chrF score one translation (default bleu)\n"
    "  --valid-metric NAME      the same as --valid-metrics NAME\n"
    "  --valid-beam N           beam size for dev translations, 1 = greedy (default 1)\n"
    "  --valid-length-penalty A GNMT length penalty for dev translations (default 0.6)\n"
    "  --valid-max-sentences N  translate and score the first N dev sentences; 0 all (default 0)\n"
    "  --valid-translation-output FILE  write each validation's dev translations to FILE, atomically; {U} in the\n"
    "                           name becomes the update number (one file per validation)\n"
    "  --save-freq N            write DIR/last.xlat every N updates (default 1000)\n"
    "  --keep-last K            also keep the weights of the last K saves as DIR/step-N.xlat (default 0)\n"
    "  --average-last K         at the end, average the last K kept saves into DIR/average.xlat (default 0)\n"
    "  --log-freq N             on a terminal a live progress line; otherwise a log line every N updates\n"
    "                           (default 100); train.tsv gets a row at the same steps\n"
    "Run:\n"
    "  --config FILE            read options from a YAML file, keys the flags without \"--\" (d-model: 512,\n"
    "                           pre-norm: true); flags given on the command line override it (Marian -c)\n"
    "  --dump-config            print every option with its effective value as YAML for --config, and exit\n"
    "  --seed N                 initialization, batch order and dropout (default 1)\n"
    "  --threads N              BLAS threads (default 2)\n"
    "  --resume                 continue DIR/last.xlat exactly where it stopped (same flags; start fresh when\n"
    "                           there is none)\n"
    "  --help, --version\n"
    "Exit status: 0 ok (also after SIGINT / SIGTERM), 1 runtime failure, 2 usage error.\n";

int train_usage_error(const char *what, const char *arg) {
  fprintf(stderr, "xlat-train: %s%s\n(xlat-train --help shows the usage)\n", what, arg ? arg : "");
  return 2;
}

/* Adds the metrics named in v ("chrf", "chrf,bleu") to a's list; 0, or -1 when a name is unknown or repeated. */
static int add_metrics(train_args *a, const char *v) {
  static const char *const names[] = {"bleu", "loss", "chrf"}; /* by valid_metric */
  while (*v) {
    size_t n = strcspn(v, ",");
    int m = 2;
    while (m >= 0 && !(strlen(names[m]) == n && !strncmp(v, names[m], n))) m--;
    for (int k = 0; m >= 0 && k < a->n_metrics; k++)
      if (a->metrics[k] == (valid_metric)m) m = -1;
    if (m < 0 || a->n_metrics == MAX_VALID_METRICS) return -1;
    a->metrics[a->n_metrics++] = (valid_metric)m;
    v += n + (v[n] == ',');
  }
  return 0;
}

/* true / yes / on / 1 -> 1, false / no / off / 0 -> 0, anything else -1 (YAML 1.1's booleans). */
static int parse_bool(const char *s) {
  static const char *const words[] = {"false", "no", "off", "0", "true", "yes", "on", "1"};
  for (int i = 0; i < 8; i++)
    if (!strcasecmp(s, words[i])) return i >= 4;
  return -1;
}

/* A 0|1 flag's value, also as a boolean word. */
static int bool01(const char *s, int32_t *out) {
  int b = parse_bool(s);
  if (b < 0) return 0;
  *out = b;
  return 1;
}

/* A flag without value: "--name" (*on = 1), or "--name=BOOL" as a config file gives it (*on = 1 or 0; -1 for a value
 * that is not a boolean, *value pointing at it). Returns 1 when arg is the flag, else 0. */
static int switch_flag(char *arg, const char *name, const char **value, int *on) {
  char *args[2] = {arg, NULL};
  int i = 0, r = xlat_cli_flag(1, args, &i, name, value);
  if (r == 0) return 0;
  *on = r < 0 ? 1 : parse_bool(*value);
  return 1;
}

/* Model fields given on the command line; -1 means "keep the preset's value". */
typedef struct {
  int32_t d_model, d_ff, heads, enc_layers, dec_layers, max_len, pre_norm, activation, tied, positions, rel_clip;
  float dropout, attn_dropout;
  int32_t arch, emb_dim, attention, bidirectional, input_feeding;
} cfg_overrides;

int train_args_parse(int argc, char **argv, int first, train_args *a) {
  memset(a, 0, sizeof *a);
  xlat_train_options_default(&a->train);
  a->update_freq = 1;
  a->patience = 10;
  a->valid_freq = 1000;
  a->save_freq = 1000;
  a->log_freq = 100;
  a->metric = a->metrics[0] = METRIC_BLEU;
  a->n_metrics = 1;
  a->valid_beam = 1;
  a->valid_length_penalty = 0.6f;
  a->seed = 1;
  a->threads = 2;
  a->max_ratio = 3.0f;
  const char *preset = "small";
  int preset_given = 0;
  cfg_overrides ov = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1.0f, -1.0f, -1, -1, -1, -1, -1};
  int positions_flags = 0; /* 1: --positions given, 2: --learned-positions given */
  a->argc = argc, a->argv = argv; /* then the --config file's options and the command line's, as one list */
  if (!(a->config = malloc(sizeof *a->config))) return train_usage_error("out of memory", NULL);
  int built = config_args_build(argc, argv, first, a->config);
  if (built >= 0) return built;
  argc = a->config->argc, argv = a->config->argv, first = 0;

  for (int i = first; i < argc; i++) {
    const char *v = NULL;
    int r, on = 0;
    int64_t i64;
#define FLAG(name) ((r = xlat_cli_flag(argc, argv, &i, name, &v)) > 0)
#define SWITCH(name) switch_flag(argv[i], name, &v, &on)
#define BAD(msg) return config_args_error(a->config, i, msg, v)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(usage_text, stdout);
      fputs(usage_text_model, stdout);
      fputs(usage_text_rnn, stdout);
      fputs(usage_text2, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      char kernels[160];
      printf("xlat-train %s (%s; %s)\n", XLAT_VERSION, xlat_cpu_describe(kernels, sizeof kernels),
             xlat_dist_built() ? "data-parallel over MPI" : "built without MPI");
      return 0;
    } else if (SWITCH("--resume")) {
      a->resume = on;
    } else if (SWITCH("--dump-config")) {
      a->dump_config = on;
    } else if (SWITCH("--separate-vocabs")) {
      a->separate_vocabs = on;
    } else if (SWITCH("--pre-norm")) {
      ov.pre_norm = on;
    } else if (SWITCH("--post-norm")) {
      ov.pre_norm = !on;
    } else if (FLAG("--train-src")) {
      a->train_src = v;
    } else if (FLAG("--train-tgt")) {
      a->train_tgt = v;
    } else if (FLAG("--valid-src")) {
      a->valid_src = v;
    } else if (FLAG("--valid-tgt")) {
      a->valid_tgt = v;
    } else if (FLAG("--spm")) {
      a->spm = v;
    } else if (FLAG("--tgt-spm")) {
      a->tgt_spm = v;
    } else if (FLAG("--vocab-size")) {
      if (!xlat_cli_i32(v, 8, 1 << 20, &a->vocab_size)) BAD("--vocab-size expects 8..1048576, got ");
    } else if (FLAG("--out")) {
      a->out = v;
    } else if (FLAG("--max-length")) {
      if (!xlat_cli_i32(v, 2, 1 << 16, &a->max_length)) BAD("--max-length expects 2..65536, got ");
    } else if (FLAG("--max-length-ratio")) {
      if (!xlat_cli_float(v, 0, 1e6, &a->max_ratio)) BAD("--max-length-ratio expects a number >= 0, got ");
    } else if (SWITCH("--skip-invalid-utf8")) {
      a->skip_invalid_utf8 = on;
    } else if (FLAG("--cache-shard-pairs")) {
      if (!xlat_cli_i64(v, 0, INT64_MAX, &a->cache_shard_pairs)) BAD("--cache-shard-pairs expects >= 0, got ");
    } else if (FLAG("--preset")) {
      preset = v;
      preset_given = 1;
    } else if (FLAG("--arch")) {
      if ((ov.arch = xlat_arch_by_name(v)) < 0) BAD("--arch expects transformer, rnn, gru or lstm, got ");
    } else if (FLAG("--emb-dim")) {
      if (!xlat_cli_i32(v, 1, 1 << 16, &ov.emb_dim)) BAD("--emb-dim expects 1..65536, got ");
    } else if (FLAG("--attention")) {
      static const char *const names[] = {"none", "dot", "general", "additive"};
      for (ov.attention = 3; ov.attention >= 0 && strcmp(v, names[ov.attention]) != 0; ov.attention--) continue;
      if (ov.attention < 0) BAD("--attention expects none, dot, general or additive, got ");
    } else if (FLAG("--bidirectional")) {
      if (!bool01(v, &ov.bidirectional)) BAD("--bidirectional expects 0 or 1, got ");
    } else if (FLAG("--input-feeding")) {
      if (!bool01(v, &ov.input_feeding)) BAD("--input-feeding expects 0 or 1, got ");
    } else if (FLAG("--d-model")) {
      if (!xlat_cli_i32(v, 1, 1 << 16, &ov.d_model)) BAD("--d-model expects 1..65536, got ");
    } else if (FLAG("--d-ff")) {
      if (!xlat_cli_i32(v, 1, 1 << 18, &ov.d_ff)) BAD("--d-ff expects 1..262144, got ");
    } else if (FLAG("--heads")) {
      if (!xlat_cli_i32(v, 1, 1024, &ov.heads)) BAD("--heads expects 1..1024, got ");
    } else if (FLAG("--enc-layers")) {
      if (!xlat_cli_i32(v, 1, 64, &ov.enc_layers)) BAD("--enc-layers expects 1..64, got ");
    } else if (FLAG("--dec-layers")) {
      if (!xlat_cli_i32(v, 1, 64, &ov.dec_layers)) BAD("--dec-layers expects 1..64, got ");
    } else if (FLAG("--max-len")) {
      if (!xlat_cli_i32(v, 2, 1 << 16, &ov.max_len)) BAD("--max-len expects 2..65536, got ");
    } else if (FLAG("--activation")) {
      if (!strcmp(v, "relu"))
        ov.activation = XLAT_ACT_RELU;
      else if (!strcmp(v, "gelu"))
        ov.activation = XLAT_ACT_GELU;
      else
        BAD("--activation expects relu or gelu, got ");
    } else if (FLAG("--tied-embeddings")) {
      if (!bool01(v, &ov.tied)) BAD("--tied-embeddings expects 0 or 1, got ");
    } else if (FLAG("--positions")) {
      static const char *const names[] = {"sinusoidal", "learned", "relative"};
      for (ov.positions = 2; ov.positions >= 0 && strcmp(v, names[ov.positions]) != 0; ov.positions--) continue;
      if (ov.positions < 0) BAD("--positions expects sinusoidal, learned or relative, got ");
      positions_flags |= 1;
    } else if (FLAG("--learned-positions")) {
      if (!bool01(v, &ov.positions)) BAD("--learned-positions expects 0 or 1, got ");
      positions_flags |= 2;
    } else if (FLAG("--relative-clip")) {
      if (!xlat_cli_i32(v, 1, 65536, &ov.rel_clip)) BAD("--relative-clip expects 1..65536, got ");
    } else if (FLAG("--dropout")) {
      if (!xlat_cli_float(v, 0, 0.99, &ov.dropout)) BAD("--dropout expects 0..0.99, got ");
    } else if (FLAG("--attention-dropout")) {
      if (!xlat_cli_float(v, 0, 0.99, &ov.attn_dropout)) BAD("--attention-dropout expects 0..0.99, got ");
    } else if (FLAG("--finetune")) {
      a->finetune = v;
    } else if (FLAG("--max-tokens")) {
      if (!xlat_cli_i32(v, 2, 1 << 24, &a->train.max_tokens)) BAD("--max-tokens expects 2..16777216, got ");
    } else if (FLAG("--update-freq")) {
      if (!xlat_cli_i32(v, 1, 1 << 16, &a->update_freq)) BAD("--update-freq expects 1..65536, got ");
    } else if (FLAG("--lr")) {
      a->given.lr = 1;
      if (!xlat_cli_float(v, 0, 10, &a->train.lr)) BAD("--lr expects 0..10, got ");
    } else if (FLAG("--warmup-steps")) {
      a->given.warmup = 1;
      if (!xlat_cli_i32(v, 0, INT32_MAX, &a->train.warmup_steps)) BAD("--warmup-steps expects >= 0, got ");
    } else if (FLAG("--adam-betas")) {
      a->given.betas = 1;
      char *end;
      errno = 0;
      double b1 = strtod(v, &end), b2 = -1;
      if (!errno && end != v && *end == ',') {
        const char *s = end + 1;
        b2 = strtod(s, &end);
        if (errno || end == s || *end) b2 = -1;
      }
      if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) BAD("--adam-betas expects B1,B2 in [0, 1), got ");
      a->train.beta1 = (float)b1;
      a->train.beta2 = (float)b2;
    } else if (FLAG("--adam-eps")) {
      a->given.eps = 1;
      if (!xlat_cli_float(v, 0, 1, &a->train.eps)) BAD("--adam-eps expects 0..1, got ");
    } else if (FLAG("--clip-norm")) {
      a->given.clip = 1;
      if (!xlat_cli_float(v, 0, 1e30, &a->train.clip_norm)) BAD("--clip-norm expects >= 0, got ");
    } else if (FLAG("--weight-decay")) {
      a->given.weight_decay = 1;
      if (!xlat_cli_float(v, 0, 1, &a->train.weight_decay)) BAD("--weight-decay expects 0..1, got ");
    } else if (FLAG("--label-smoothing")) {
      a->given.label_smoothing = 1;
      if (!xlat_cli_float(v, 0, 0.99, &a->train.label_smoothing)) BAD("--label-smoothing expects 0..0.99, got ");
    } else if (FLAG("--ema-decay")) {
      a->given.ema = 1;
      if (!xlat_cli_float(v, 0, 0.999999999, &a->train.ema_decay)) BAD("--ema-decay expects 0 <= D < 1, got ");
    } else if (FLAG("--max-steps")) {
      if (!xlat_cli_i64(v, 0, INT64_MAX, &a->max_steps)) BAD("--max-steps expects >= 0, got ");
    } else if (FLAG("--max-epochs")) {
      if (!xlat_cli_i64(v, 0, INT64_MAX, &a->max_epochs)) BAD("--max-epochs expects >= 0, got ");
    } else if (FLAG("--max-time")) {
      if (!xlat_cli_double(v, 0, 1e12, &a->max_time)) BAD("--max-time expects seconds >= 0, got ");
    } else if (FLAG("--early-stopping")) {
      if (!xlat_cli_i32(v, 0, INT32_MAX, &a->patience)) BAD("--early-stopping expects >= 0, got ");
    } else if (FLAG("--valid-freq")) {
      if (!xlat_cli_i64(v, 1, INT64_MAX, &a->valid_freq)) BAD("--valid-freq expects >= 1, got ");
    } else if (FLAG("--valid-metric")) {
      a->n_metrics = 0;
      if (strchr(v, ',') || add_metrics(a, v) != 0) BAD("--valid-metric expects bleu, chrf or loss, got ");
    } else if (FLAG("--valid-metrics")) { /* values up to the next flag, as Marian's; commas also separate */
      a->n_metrics = 0;
      do {
        if (add_metrics(a, v) != 0) BAD("--valid-metrics expects distinct names of bleu, chrf and loss, got ");
      } while (i + 1 < argc && argv[i + 1][0] != '-' && (v = argv[++i]));
      if (a->n_metrics == 0) BAD("--valid-metrics expects bleu, chrf and / or loss, got ");
    } else if (FLAG("--valid-translation-output")) {
      a->valid_translation_output = v;
    } else if (FLAG("--valid-beam")) {
      if (!xlat_cli_i32(v, 1, 64, &a->valid_beam)) BAD("--valid-beam expects 1..64, got ");
    } else if (FLAG("--valid-length-penalty")) {
      if (!xlat_cli_float(v, 0, 10, &a->valid_length_penalty)) BAD("--valid-length-penalty expects 0..10, got ");
    } else if (FLAG("--valid-max-sentences")) {
      if (!xlat_cli_i32(v, 0, INT32_MAX, &a->valid_max_sentences)) BAD("--valid-max-sentences expects >= 0, got ");
    } else if (FLAG("--save-freq")) {
      if (!xlat_cli_i64(v, 1, INT64_MAX, &a->save_freq)) BAD("--save-freq expects >= 1, got ");
    } else if (FLAG("--keep-last")) {
      if (!xlat_cli_i32(v, 0, 10000, &a->keep_last)) BAD("--keep-last expects 0..10000, got ");
    } else if (FLAG("--average-last")) {
      if (!xlat_cli_i32(v, 0, 10000, &a->average_last)) BAD("--average-last expects 0..10000, got ");
    } else if (FLAG("--log-freq")) {
      if (!xlat_cli_i64(v, 1, INT64_MAX, &a->log_freq)) BAD("--log-freq expects >= 1, got ");
    } else if (FLAG("--seed")) {
      if (!xlat_cli_i64(v, 0, INT64_MAX, &i64)) BAD("--seed expects a number >= 0, got ");
      a->seed = (uint64_t)i64;
    } else if (FLAG("--threads")) {
      if (!xlat_cli_i32(v, 1, 256, &a->threads)) BAD("--threads expects 1..256, got ");
    } else if (r < 0) {
      return train_usage_error("missing value after ", argv[i]);
    } else {
      return config_args_unknown(a->config, i);
    }
    if (on < 0) { /* "--resume=maybe" */
      char what[96];
      snprintf(what, sizeof what, "%.*s takes no value, or true or false; got ", (int)(v - 1 - argv[i]), argv[i]);
      BAD(what);
    }
#undef FLAG
#undef SWITCH
#undef BAD
  }

  /* --dump-config shows a configuration still missing its files */
  if (!a->dump_config && (!a->train_src || !a->train_tgt))
    return train_usage_error("--train-src and --train-tgt are required", NULL);
  if (!a->dump_config && !a->out) return train_usage_error("--out is required", NULL);
  if (!a->spm == !a->vocab_size && (a->spm || !a->dump_config))
    return train_usage_error("give exactly one of --spm and --vocab-size", NULL);
  if (a->tgt_spm && !a->spm) return train_usage_error("--tgt-spm goes with --spm (the source's model)", NULL);
  if (a->separate_vocabs && !a->vocab_size)
    return train_usage_error("--separate-vocabs trains the two models with --vocab-size; given models are --spm "
                             "and --tgt-spm", NULL);
  if (!a->valid_src != !a->valid_tgt) return train_usage_error("--valid-src and --valid-tgt go together", NULL);
  a->metric = a->metrics[0];
  if (a->valid_translation_output && !a->valid_src)
    return train_usage_error("--valid-translation-output needs a dev set (--valid-src, --valid-tgt)", NULL);
  if (a->average_last > a->keep_last)
    return train_usage_error("--average-last K needs --keep-last of at least K", NULL);
  if (a->finetune && a->vocab_size)
    return train_usage_error("--finetune needs the model's own SentencePiece model: give --spm", NULL);

  int recurrent = ov.arch > XLAT_ARCH_TRANSFORMER;
  if (recurrent && preset_given)
    return train_usage_error("--preset names Transformer sizes; a recurrent model takes --d-model (hidden size), "
                             "--emb-dim, --enc-layers / --dec-layers instead", NULL);
  if (recurrent) preset = xlat_arch_name(ov.arch); /* the recurrent defaults of that cell */
  if (xlat_config_preset(preset, &a->cfg) != XLAT_OK || (!recurrent && a->cfg.arch != XLAT_ARCH_TRANSFORMER))
    return train_usage_error("--preset expects tiny, small, base or big (recurrent models: --arch), got ", preset);
  if (!recurrent && (ov.emb_dim >= 0 || ov.attention >= 0 || ov.bidirectional >= 0 || ov.input_feeding >= 0))
    return train_usage_error("--emb-dim, --attention, --bidirectional and --input-feeding are options of the "
                             "recurrent architectures (--arch rnn, gru or lstm)", NULL);
  if (recurrent && (ov.d_ff >= 0 || ov.heads >= 0 || ov.pre_norm >= 0 || ov.activation >= 0 || ov.positions >= 0 ||
                    ov.rel_clip >= 0 || ov.attn_dropout >= 0))
    return train_usage_error("--d-ff, --heads, --pre-norm / --post-norm, --activation, --positions (or "
                             "--learned-positions), --relative-clip and --attention-dropout are Transformer options",
                             NULL);
  if (positions_flags == 3)
    return train_usage_error("--positions and --learned-positions set the same thing: give one of them", NULL);
  if (ov.rel_clip >= 0 && ov.positions != XLAT_POS_RELATIVE)
    return train_usage_error("--relative-clip needs --positions relative", NULL);
  xlat_config *c = &a->cfg;
  if (ov.d_model >= 0) c->d_model = ov.d_model;
  if (ov.d_ff >= 0) c->d_ff = ov.d_ff;
  if (ov.heads >= 0) c->n_heads = ov.heads;
  if (ov.enc_layers >= 0) c->enc_layers = ov.enc_layers;
  if (ov.dec_layers >= 0) c->dec_layers = ov.dec_layers;
  if (ov.max_len >= 0) c->max_len = ov.max_len;
  if (ov.pre_norm >= 0) c->pre_norm = ov.pre_norm;
  if (ov.activation >= 0) c->activation = ov.activation;
  if (ov.tied >= 0) c->tied_embeddings = ov.tied;
  if (ov.positions >= 0) c->positions = ov.positions;
  if (c->positions == XLAT_POS_RELATIVE) c->rel_clip = ov.rel_clip >= 0 ? ov.rel_clip : 16;
  if (ov.dropout >= 0) c->dropout = ov.dropout;
  if (ov.attn_dropout >= 0) c->attn_dropout = ov.attn_dropout;
  if (ov.emb_dim >= 0) c->emb_dim = ov.emb_dim;
  if (ov.attention >= 0) c->attention = ov.attention;
  if (ov.bidirectional >= 0) c->bidirectional = ov.bidirectional;
  if (ov.input_feeding >= 0) c->input_feeding = ov.input_feeding;
  /* one layer count for both sides unless both are given: the recurrent decoder starts from the encoder's layers */
  if (recurrent && (ov.enc_layers >= 0) != (ov.dec_layers >= 0))
    c->enc_layers = c->dec_layers = ov.enc_layers >= 0 ? ov.enc_layers : ov.dec_layers;
  /* untied recurrent embeddings keep their own size; tied ones follow the hidden size */
  if (recurrent && ov.emb_dim < 0 && c->tied_embeddings) c->emb_dim = c->d_model;
#define GIVEN(field, flag) a->given.field = preset_given || ov.flag >= 0
  GIVEN(d_model, d_model), GIVEN(d_ff, d_ff), GIVEN(heads, heads), GIVEN(enc_layers, enc_layers);
  GIVEN(dec_layers, dec_layers), GIVEN(max_len, max_len), GIVEN(pre_norm, pre_norm);
  GIVEN(activation, activation), GIVEN(tied, tied), GIVEN(positions, positions), GIVEN(rel_clip, rel_clip);
  GIVEN(arch, arch);
  GIVEN(emb_dim, emb_dim), GIVEN(attention, attention), GIVEN(bidirectional, bidirectional);
  GIVEN(input_feeding, input_feeding);
#undef GIVEN
  a->given.dropout = ov.dropout >= 0; /* the preset's rates are no choice: a resumed run keeps its own */
  a->given.attn_dropout = ov.attn_dropout >= 0;
  /* a model from a file (--resume of an existing run, --finetune) is checked against its own config in setup.c */
  if (a->resume || a->finetune) return -1;
  if (c->d_model % c->n_heads != 0) return train_usage_error("--d-model must be a multiple of --heads", NULL);
  if (xlat_config_check(c) != XLAT_OK) return train_usage_error(xlat_last_error(), NULL);
  if (a->max_length > c->max_len) return train_usage_error("--max-length must not exceed the model's --max-len", NULL);
  if (a->train.max_tokens < (a->max_length ? a->max_length : c->max_len))
    return train_usage_error("--max-tokens must be at least --max-length (or the model's --max-len)", NULL);
  return -1;
}

void train_args_free(train_args *a) {
  config_args_free(a->config);
  free(a->config);
  a->config = NULL;
}
