/* plot.h - `xlat-train plot`: training curves of one or more runs (their train.tsv) as one SVG line chart. */
#ifndef XLAT_TRAIN_PLOT_H
#define XLAT_TRAIN_PLOT_H

/* Runs the subcommand on argv[2..argc) (argv[1] is "plot"). Returns the exit status: 0 success, 1 a file could not
 * be read or written (reported on stderr, naming the file and line), 2 a usage error. */
int plot_main(int argc, char **argv);

#endif
