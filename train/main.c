/* xlat-train - train a translator (any architecture): flags (options.c) -> session (setup.c) -> training loop (loop.c);
 * `xlat-train average` writes the mean of several checkpoints' weights; `xlat-train plot` draws training curves
 * (plot.c); `xlat-train info` describes a checkpoint (info.c).
 *
 * Exit status: 0 success (also after SIGINT / SIGTERM, with last.xlat saved), 1 runtime failure, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "info.h"
#include "options.h"
#include "plot.h"
#include "session.h"
#include "signals.h"

#define MAX_AVERAGE 1024

static const char average_usage[] =
    "usage: xlat-train average --output OUT.xlat IN.xlat [IN.xlat ...]\n"
    "Writes the element-wise mean of the weights of the inputs (same configuration) as a weights-only checkpoint,\n"
    "atomically. With one input it copies just the weights (no optimizer state).\n";

static int average_main(int argc, char **argv) {
  const char *out = NULL, *in[MAX_AVERAGE];
  int n = 0;
  for (int i = 2; i < argc; i++) {
    const char *v;
    int r;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(average_usage, stdout);
      return 0;
    } else if ((r = xlat_cli_flag(argc, argv, &i, "--output", &v)) != 0) {
      if (r < 0) return train_usage_error("missing value after ", argv[i]);
      out = v;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return train_usage_error("unknown argument ", argv[i]);
    } else if (n == MAX_AVERAGE) {
      return train_usage_error("too many checkpoints to average", NULL);
    } else {
      in[n++] = argv[i];
    }
  }
  if (!out || n == 0) return train_usage_error("average needs --output OUT.xlat and at least one input", NULL);
  if (xlat_checkpoint_average(in, n, out) != XLAT_OK) {
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    return 1;
  }
  fprintf(stderr, "averaged %d checkpoint%s into %s\n", n, n == 1 ? "" : "s", out);
  return 0;
}

int main(int argc, char **argv) {
  if (xlat_cpu_setup(argv) != XLAT_OK) return train_usage_error(xlat_last_error(), NULL);
  if (argc > 1 && !strcmp(argv[1], "average")) return average_main(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "plot")) return plot_main(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "info")) return info_main(argc, argv);
  train_args a;
  int rc = train_args_parse(argc, argv, 1, &a);
  if (rc < 0 && a.dump_config) {
    config_write(stdout, &a, &a.cfg, &a.train);
    rc = fflush(stdout) == 0 ? 0 : 1;
  }
  if (rc >= 0) {
    train_args_free(&a);
    return rc;
  }
  if (train_signals_install() != 0) {
    fprintf(stderr, "xlat-train: cannot install the SIGINT / SIGTERM handler\n");
    return 1;
  }
  if (xlat_dist_init(&argc, &argv) != XLAT_OK) { /* under mpirun: one rank of a data-parallel run */
    fprintf(stderr, "xlat-train: %s\n", xlat_last_error());
    return 1;
  }
  xlat_set_threads(a.threads);
  session s;
  rc = session_open(&s, &a);
  if (rc < 0) rc = session_train(&s);
  session_close(&s);
  if (rc != 0 && rc != 2) xlat_dist_abort(rc); /* a rank that failed alone would leave the others waiting */
  xlat_dist_finalize();
  train_args_free(&a);
  return rc;
}
