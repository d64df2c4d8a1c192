/* info.h - `xlat-train info`: what a checkpoint holds (architecture, hyper-parameters, parameter count, tokenizer
 * checksum, training progress), for people or, with --json, for scripts. */
#ifndef XLAT_TRAIN_INFO_H
#define XLAT_TRAIN_INFO_H

/* Runs the subcommand on argv[2..argc) (argv[1] is "info"). Returns the exit status: 0 success, 1 a file that is
 * not a readable checkpoint (reported on stderr), 2 a usage error. */
int info_main(int argc, char **argv);

#endif
