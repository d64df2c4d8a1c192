/* fake_blas_pick.c - an LD_PRELOAD shim for cli_cpu.sh: makes OpenBLAS look as if it had picked its SSE3
 * "Prescott" kernels by itself, as Debian 12's OpenBLAS does on CPUs newer than it. While OPENBLAS_CORETYPE is set
 * the real answer comes through, so a program that corrected the pick (set the variable and executed itself again)
 * reports the kernels it really runs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void) {
  if (!getenv("OPENBLAS_CORETYPE")) return "Prescott";
  char *(*real)(void);
  *(void **)&real = dlsym(RTLD_NEXT, "openblas_get_corename"); /* POSIX's way around ISO C's function pointers */
  return real ? real() : "unknown";
}
