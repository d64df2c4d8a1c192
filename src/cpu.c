/* cpu.c - which kernels run: OpenBLAS's (its core type) and xlat's own (kernels.h), both from the CPU's features.
 *
 * OpenBLAS built with DYNAMIC_ARCH picks its kernels from cpuid when it loads, and a release older than the CPU
 * does not know the model and falls back to its SSE3 "Prescott" kernels, 2-5x slower (Debian 12's 0.3.21 on Intel
 * family 6 model 207: OpenBLAS issue #4267, fixed in 0.3.25). It reads OPENBLAS_CORETYPE only while loading, before
 * main(), so the fix is to set it and execute the program once more. A value the user set always wins.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "kernels.h"

xlat_cpu_features xlat_cpu_detect(void) {
  xlat_cpu_features f = {0};
#if defined(__x86_64__) || defined(__i386__)
  /* libgcc's cpuid reading, which also checks that the OS saves the AVX and AVX-512 registers (XCR0) */
  __builtin_cpu_init();
  f.avx = __builtin_cpu_supports("avx") != 0;
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.fma = __builtin_cpu_supports("fma") != 0;
  f.avx512f = __builtin_cpu_supports("avx512f") != 0;
  f.avx512bw = __builtin_cpu_supports("avx512bw") != 0;
  f.avx512dq = __builtin_cpu_supports("avx512dq") != 0;
  f.avx512vl = __builtin_cpu_supports("avx512vl") != 0;
  f.avx512cd = __builtin_cpu_supports("avx512cd") != 0;
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16") != 0;
#endif
  return f;
}

/* ---- OpenBLAS core types ----------------------------------------------------------------------------------------
 * Each core type OpenBLAS 0.3.x names, by the instruction set its sgemm kernels use: 0 SSE2/SSE3/SSE4,
 * 1 AVX, 2 AVX2 + FMA, 3 AVX-512, 4 AVX-512 with BF16. */
static const struct {
  const char *name;
  int level;
} blas_cores[] = {
    {"Prescott", 0},    {"Core2", 0},     {"Penryn", 0},   {"Dunnington", 0}, {"Nehalem", 0},
    {"Atom", 0},        {"Opteron", 0},   {"Opteron_SSE3", 0}, {"Barcelona", 0}, {"Bobcat", 0},
    {"Nano", 0},        {"Sandybridge", 1}, {"Bulldozer", 1}, {"Piledriver", 1}, {"Steamroller", 1},
    {"Excavator", 1},   {"Haswell", 2},   {"Zen", 2},      {"SkylakeX", 3},   {"Cooperlake", 4},
    {"SapphireRapids", 4},
};

static int blas_level(const char *core) {
  for (size_t i = 0; i < sizeof blas_cores / sizeof blas_cores[0]; i++)
    if (core && !strcasecmp(core, blas_cores[i].name)) return blas_cores[i].level;
  return -1;
}

const char *xlat_blas_core_for(const xlat_cpu_features *f, const char *pick) {
  const char *best = NULL;
  int level = -1;
  if (f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx512cd) {
    best = f->avx512bf16 ? "Cooperlake" : "SkylakeX";
    level = f->avx512bf16 ? 4 : 3;
  } else if (f->avx2 && f->fma) {
    best = "Haswell", level = 2;
  } else if (f->avx) {
    best = "Sandybridge", level = 1;
  }
  int have = blas_level(pick);
  return best && have >= 0 && have < level ? best : NULL; /* an unknown pick is OpenBLAS's business */
}

/* ---- xlat's own kernels ------------------------------------------------------------------------------------------ */

const xlat_kernels *xlat_kernels_for(const xlat_cpu_features *f, const char *request) {
#if XLAT_X86_KERNELS
  const xlat_kernels *best = &xlat_kernels_generic;
  if (f->avx2 && f->fma) best = &xlat_kernels_avx2;
  if (f->avx512f && f->avx512bw && f->avx512dq && f->avx512vl && f->avx2 && f->fma) best = &xlat_kernels_avx512;
  if (!request || !*request) return best;
  if (!strcmp(request, "generic")) return &xlat_kernels_generic;
  if (!strcmp(request, "avx2")) return best == &xlat_kernels_generic ? best : &xlat_kernels_avx2;
  if (!strcmp(request, "avx512")) return best;
#else
  (void)f;
  if (!request || !*request || !strcmp(request, "generic") || !strcmp(request, "avx2") || !strcmp(request, "avx512"))
    return &xlat_kernels_generic;
#endif
  return NULL;
}

static const xlat_kernels *active;
static pthread_once_t active_once = PTHREAD_ONCE_INIT;

static void choose_kernels(void) {
  xlat_cpu_features f = xlat_cpu_detect();
  active = xlat_kernels_for(&f, getenv("XLAT_ISA"));
  if (!active) active = xlat_kernels_for(&f, NULL); /* a bad XLAT_ISA is reported by xlat_cpu_setup */
}

const xlat_kernels *xlat_kernels_get(void) {
  pthread_once(&active_once, choose_kernels);
  return active;
}

/* ---- start-up ---------------------------------------------------------------------------------------------------- */

xlat_status xlat_cpu_setup(char **argv) {
  xlat_cpu_features f = xlat_cpu_detect();
  const char *isa = getenv("XLAT_ISA");
  if (!xlat_kernels_for(&f, isa))
    return xlat_fail(XLAT_ERR_ARG, "XLAT_ISA is \"%s\" (expected generic, avx2 or avx512)", isa);
  if (getenv("OPENBLAS_CORETYPE")) return XLAT_OK;
  const char *pick = openblas_get_corename(), *best = xlat_blas_core_for(&f, pick);
  if (!best) return XLAT_OK;
  /* XLAT_BLAS_PICKED tells the new process (and --version) what OpenBLAS chose by itself */
  if (setenv("XLAT_BLAS_PICKED", pick, 1) == 0 && setenv("OPENBLAS_CORETYPE", best, 1) == 0)
    execv("/proc/self/exe", argv);
  /* no /proc or no memory: run on with OpenBLAS's own pick */
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("XLAT_BLAS_PICKED");
  return XLAT_OK;
}

const char *xlat_cpu_describe(char *buf, size_t n) {
  const char *core = openblas_get_corename(), *set = getenv("OPENBLAS_CORETYPE"), *picked = getenv("XLAT_BLAS_PICKED");
  char why[96];
  if (set && picked && !strcasecmp(set, core))
    snprintf(why, sizeof why, "chosen by xlat; OpenBLAS picked %s", picked);
  else if (set)
    snprintf(why, sizeof why, "OPENBLAS_CORETYPE=%s", set);
  else
    snprintf(why, sizeof why, "OpenBLAS's own pick");
  snprintf(buf, n, "OpenBLAS kernels %s (%s), xlat kernels %s", core, why, xlat_kernels_get()->isa);
  return buf;
}
