/* bench.h - what the xlat-bench subcommands share: clock, statistics, random data. */
#ifndef XLAT_BENCH_H
#define XLAT_BENCH_H

#include <stddef.h>
#include <stdint.h>

double bench_now(void);                        /* monotonic seconds */
double bench_median(double *x, int n);         /* sorts x */
float *bench_random(size_t n);                 /* malloc'ed uniform [-1,1) values; aborts when out of memory */

int bench_train(int argc, char **argv);
int bench_export(int argc, char **argv);
int bench_corpus(int argc, char **argv);

#endif
