/*
 * Eight floats as one value, shared by the kernels that vectorize by hand (attention.c, lora.c, product.c): GCC turns
 * arithmetic on it into AVX (or SSE pairs, or scalar code) as the CPU allows. Loads and stores go through memcpy,
 * so they need no alignment.
 */
#ifndef TIAOYU_VEC8_H
#define TIAOYU_VEC8_H

#include <string.h>

typedef float v8 __attribute__((vector_size(32)));

static inline v8 load8(const float *p) {
  v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
static inline v8 splat8(float x) { return (v8){0} + x; }

#endif
