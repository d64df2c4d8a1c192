/* rng.c - xoshiro256** seeded through splitmix64 (Blackman & Vigna, https://prng.di.unimi.it/): fast, small state
 * (saved in checkpoints), same sequence on every platform. Not for cryptography. */
#include <math.h>

#include "internal.h"

uint64_t xlat_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void xlat_rng_seed(xlat_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = xlat_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t xlat_rng_next(xlat_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

float xlat_rng_uniform(xlat_rng *r) { return (float)(xlat_rng_next(r) >> 40) * 0x1.0p-24f; }

float xlat_rng_normal(xlat_rng *r) {
  /* Box-Muller on (0,1] x [0,1): u1 never 0, so the log is finite. */
  double u1 = ((double)(xlat_rng_next(r) >> 11) + 1.0) * 0x1.0p-53, u2 = (double)(xlat_rng_next(r) >> 11) * 0x1.0p-53;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
