/* loop.c - xlat-train's training loop: batches in the batcher's order, gradient accumulation, updates, validation,
 * best model, saves, stop conditions.
 *
 * Exact resume: everything that decides what a step does is either in the checkpoint (weights, Adam moments, step,
 * dropout RNG, EMA weights: the library's part; epoch and batch index: xlat_progress) or a function of the seed
 * (the batch order of each epoch). Validation reads the weights and never touches the training RNG.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "files.h"
#include "plot.h"
#include "progress.h"
#include "session.h"
#include "signals.h"

static int lib_error(progress *pr) {
  progress_error(pr, "xlat-train: %s", xlat_last_error());
  return 1;
}

/* The next batch in order, moving to the next epoch when this one is done. */
static xlat_status next_batch(session *s, int64_t *nbatches, xlat_batch *b) {
  xlat_progress *p = xlat_trainer_progress(s->trainer);
  if (p->batch_in_epoch >= *nbatches) {
    p->epoch++;
    p->batch_in_epoch = 0;
    *nbatches = xlat_batcher_epoch(s->batcher, p->epoch);
  }
  return xlat_batcher_get(s->batcher, p->batch_in_epoch, b);
}

/* Seconds to the nearest of --max-steps and --max-time, or -1. */
static double eta(const train_args *a, int64_t step, int64_t start_step, double elapsed, double trained) {
  double e = -1;
  if (a->max_steps > 0 && step > start_step)
    e = (double)(a->max_steps - step) * elapsed / (double)(step - start_step);
  if (a->max_time > 0 && (e < 0 || a->max_time - trained < e)) e = a->max_time - trained;
  return e < 0 ? (a->max_steps > 0 || a->max_time > 0 ? 0 : -1) : e;
}

/* Redraws train.svg from train.tsv after a validation (its row is written). A picture that cannot be written is
 * worth a warning, not the training run. */
static void draw(session *s, progress *pr) {
  if (plot_training(s->tsv_path, s->svg_path) != XLAT_OK)
    progress_message(pr, "xlat-train: warning: %s not redrawn: %s", s->svg_path, xlat_last_error());
}

static const char *metric_name(valid_metric m) {
  return m == METRIC_BLEU ? "BLEU" : m == METRIC_CHRF ? "chrF" : "loss";
}

/* The score of metric m in d (for the loss lower is better, for the others higher). */
static double metric_score(const validator_scores *d, valid_metric m) {
  return m == METRIC_BLEU ? d->bleu : m == METRIC_CHRF ? d->chrf : d->loss;
}

/* Validates, keeps best.xlat and counts validations without improvement: the first of --valid-metrics decides (its
 * best is kept in xlat_progress: best_dev_loss for the loss, best_bleu for BLEU or chrF). Returns 0 or the exit
 * status. */
static int validate(session *s, progress *pr, int64_t step, validator_scores *dev) {
  const train_args *a = s->a;
  xlat_progress *p = xlat_trainer_progress(s->trainer);
  if (validator_run(s->valid, s->trainer, step, dev) != XLAT_OK) return 1;
  valid_metric m = a->metrics[0];
  int first = p->validations == 0, translation = m != METRIC_LOSS;
  double score = metric_score(dev, m);
  int better = first || (translation ? score > p->best_bleu : score < p->best_dev_loss);
  if (first || dev->loss < p->best_dev_loss) p->best_dev_loss = dev->loss;
  if (translation && (first || score > p->best_bleu)) p->best_bleu = score;
  p->validations++;
  p->bad_validations = better ? 0 : p->bad_validations + 1;
  if (better && xlat_checkpoint_save(s->best_path, xlat_trainer_ema_model(s->trainer), NULL) != XLAT_OK)
    return lib_error(pr);
  /* dev loss first (always computed), then the translation metrics in the order given; the deciding one's best */
  char text[256] = "";
  size_t n = 0;
  for (int32_t k = 0; k < a->n_metrics && n < sizeof text; k++) {
    if (a->metrics[k] == METRIC_LOSS) continue;
    n += (size_t)snprintf(text + n, sizeof text - n, ", dev %s %.2f", metric_name(a->metrics[k]),
                          metric_score(dev, a->metrics[k]));
    if (k == 0 && n < sizeof text) n += (size_t)snprintf(text + n, sizeof text - n, " (best %.2f)", p->best_bleu);
  }
  progress_message(pr, "validation %lld at step %lld: dev loss %.4f (best %.4f)%s%s", (long long)p->validations,
                   (long long)step, dev->loss, p->best_dev_loss, text, better ? ", saved best.xlat" : "");
  return 0;
}

static int save(session *s, progress *pr, int64_t step) {
  if (xlat_checkpoint_save(s->last_path, s->model, s->trainer) != XLAT_OK) return lib_error(pr);
  if (s->a->keep_last > 0 &&
      files_save_step(s->a->out, xlat_trainer_ema_model(s->trainer), step, s->a->keep_last) != 0)
    return 1;
  return 0;
}

/* Why training stops before the next update, or NULL to go on. Ranks stop together: when one has a reason (a
 * signal, its clock, rank 0's early stopping), all do. */
static const char *stop_reason(session *s, int64_t step, int64_t nbatches) {
  const train_args *a = s->a;
  const xlat_progress *p = xlat_trainer_progress(s->trainer);
  const char *why = NULL;
  int64_t epochs_done = p->epoch + (p->batch_in_epoch >= nbatches);
  if (train_signal_pending()) why = "signal received";
  else if (a->max_steps > 0 && step >= a->max_steps) why = "reached --max-steps";
  else if (a->max_time > 0 && p->train_seconds >= a->max_time) why = "reached --max-time";
  else if (a->max_epochs > 0 && epochs_done >= a->max_epochs) why = "reached --max-epochs";
  else if (s->valid && a->patience > 0 && p->bad_validations >= a->patience) why = "early stopping";
  if (xlat_dist_max(why != NULL) && !why) why = "another rank stopped";
  return why;
}

int session_train(session *s) {
  const train_args *a = s->a;
  xlat_trainer *t = s->trainer;
  xlat_progress *p = xlat_trainer_progress(t);
  int64_t step = xlat_trainer_step(t), start_step = step, last_saved = s->resumed ? step : -1;
  int ranks = xlat_dist_size(), me = xlat_dist_rank(), writer = me == 0;
  int64_t last_valid = s->resumed ? step : -1;
  progress pr;
  if (progress_open(&pr, s->tsv_path, step, a->log_freq) != 0) return 1;
  int64_t nbatches = xlat_batcher_epoch(s->batcher, p->epoch);
  if (nbatches == 0) {
    char what[512];
    xlat_corpus_describe(s->corpus, what, sizeof what);
    progress_error(&pr, "xlat-train: no training pair is left to train on: %s (--max-length %d)", what,
                     s->topt.max_len);
    progress_close(&pr);
    return 1;
  }
  double t0 = progress_now(), trained0 = p->train_seconds;
  const char *why;
  int rc = 0;
  while (!(why = stop_reason(s, step, nbatches))) {
    /* a step takes update_freq x ranks batches in order; each rank computes every ranks-th one, the gradients are
     * summed over the ranks, and every rank moves through the same global batch order */
    double sums[2] = {0, 0}; /* loss, target tokens */
    for (int32_t k = 0; k < a->update_freq * ranks; k++) {
      xlat_batch b;
      double l = 0;
      int64_t n = 0;
      if (k % ranks == me && k >= (a->update_freq - 1) * ranks) xlat_trainer_reduce_next(t); /* this rank's last */
      if (next_batch(s, &nbatches, &b) != XLAT_OK ||
          (k % ranks == me && xlat_trainer_accumulate(t, &b, &l, &n) != XLAT_OK)) {
        rc = lib_error(&pr);
        goto done;
      }
      p->batch_in_epoch++;
      p->sentences_seen += b.B;
      sums[0] += l;
      sums[1] += (double)n;
    }
    if (xlat_trainer_allreduce(t, sums, 2) != XLAT_OK) {
      rc = lib_error(&pr);
      goto done;
    }
    double loss_sum = sums[0];
    int64_t ntok = (int64_t)sums[1];
    p->target_tokens_seen += ntok;
    float lr = 0, gnorm = 0;
    if (xlat_trainer_update(t, &lr, &gnorm) != XLAT_OK) {
      rc = lib_error(&pr);
      goto done;
    }
    step = xlat_trainer_step(t);
    if (!isfinite(loss_sum) || !isfinite(gnorm)) {
      progress_error(&pr, "xlat-train: training diverged at step %lld (loss %g, gradient norm %g): lower --lr, "
                            "raise --warmup-steps or set --clip-norm; %s holds the last good save",
                       (long long)step, loss_sum, (double)gnorm, s->last_path);
      rc = 1;
      goto done;
    }
    progress_add(&pr, loss_sum, ntok, gnorm);
    p->train_seconds = trained0 + (progress_now() - t0);

    validator_scores dev, *validated = NULL;
    if (writer && s->valid && step % a->valid_freq == 0) {
      double v0 = progress_now();
      if ((rc = validate(s, &pr, step, &dev)) != 0) goto done;
      validated = &dev;
      last_valid = step;
      progress_exclude(&pr, progress_now() - v0);
      p->train_seconds = trained0 + (progress_now() - t0);
    }
    progress_step_info info = {p->epoch + 1, step, p->train_seconds, lr,
                               eta(a, step, start_step, progress_now() - t0, p->train_seconds)};
    progress_step(&pr, &info, validated);
    if (validated) draw(s, &pr);
    if (writer && step % a->save_freq == 0) {
      double s0 = progress_now();
      if ((rc = save(s, &pr, step)) != 0) goto done;
      last_saved = step;
      progress_exclude(&pr, progress_now() - s0);
    }
  }
  progress_message(&pr, "stopping at step %lld, epoch %lld: %s", (long long)step, (long long)p->epoch + 1, why);
  if (writer && s->valid && step > 0 && step != last_valid && !train_signal_pending()) {
    validator_scores dev;
    if ((rc = validate(s, &pr, step, &dev)) != 0) goto done;
    progress_step_info info = {p->epoch + 1, step, trained0 + (progress_now() - t0), xlat_trainer_lr(t, step), 0};
    progress_step(&pr, &info, &dev);
    draw(s, &pr);
  }
done:
  p->train_seconds = trained0 + (progress_now() - t0);
  if (writer && rc == 0 && step != last_saved && step > 0) {
    int save_rc = save(s, &pr, step);
    if (save_rc == 0) progress_message(&pr, "saved %s at step %lld", s->last_path, (long long)step);
    rc = save_rc;
  }
  if (writer && rc == 0 && a->average_last > 0 && !train_signal_pending()) {
    int used;
    rc = files_average_last(a->out, a->average_last, s->average_path, &used) == 0 ? 0 : 1;
    if (rc == 0) progress_message(&pr, "averaged the last %d saves into %s", used, s->average_path);
  }
  if (rc == 0 && s->valid && p->validations > 0)
    progress_message(&pr, "best dev %s %.4f: %s", metric_name(a->metrics[0]),
                     a->metrics[0] == METRIC_LOSS ? p->best_dev_loss : p->best_bleu, s->best_path);
  if (rc == 0 && train_signal_pending())
    progress_message(&pr, "interrupted: continue with the same command and --resume");
  progress_close(&pr);
  return rc;
}
