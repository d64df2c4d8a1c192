/* plot.h - `xlat-train plot`: training curves of one or more runs (their train.tsv) as one SVG line chart. */
#ifndef XLAT_TRAIN_PLOT_H
#define XLAT_TRAIN_PLOT_H

#include "xlat.h"

/* Runs the subcommand on argv[2..argc) (argv[1] is "plot"). Returns the exit status: 0 success, 1 a file could not
 * be read or written (reported on stderr, naming the file and line), 2 a usage error. */
int plot_main(int argc, char **argv);

/* train.svg: training and dev loss, and dev BLEU when the run has it, against updates and against training minutes,
 * drawn from the run's train.tsv (tsv_path) as one picture, written atomically to svg_path. */
xlat_status plot_training(const char *tsv_path, const char *svg_path);

#endif
