/*
 * Elementwise float32 kernels for the wasm backend's tensors.
 *
 * tfjs-backend-wasm computes exp, tanh, pow, … one scalar libm call at a time on one thread: ~40 M values/s for
 * exp, ~7 M/s for pow. Over a GPT's logits ([B·T, vocab], millions of numbers) that is 100 ms per call. Here the
 * loops are vectorised — glibc's libmvec has AVX2 versions of expf, logf, tanhf (8 at once) that GCC calls when
 * the loop is written plainly and the functions are declared "simd" — and split over the thread pool.
 */
#include "elementwise.h"

#include <math.h>

#include "pool.h"

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
/* glibc ships vector variants (libmvec); math.h only announces them under -ffast-math, which we avoid because
 * it would let the compiler assume no NaN or infinity. The declarations are the same as glibc's own. */
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) float logf(float);
__attribute__((simd("notinbranch"))) float tanhf(float);
__attribute__((simd("notinbranch"))) float powf(float, float);
#endif

struct unary_ctx {
  int op;
  const float *x;
  float *y;
  float param;
};

static void unary_range(void *p, size_t begin, size_t end) {
  const struct unary_ctx *c = (const struct unary_ctx *)p;
  const float *restrict x = c->x;
  float *restrict y = c->y;
  const float q = c->param;
  switch (c->op) {
    case OP_EXP:
      for (size_t i = begin; i < end; i++) y[i] = expf(x[i]);
      break;
    case OP_LOG:
      for (size_t i = begin; i < end; i++) y[i] = logf(x[i]);
      break;
    case OP_TANH:
      for (size_t i = begin; i < end; i++) y[i] = tanhf(x[i]);
      break;
    case OP_SQRT:
      for (size_t i = begin; i < end; i++) y[i] = sqrtf(x[i]);
      break;
    case OP_RSQRT:
      for (size_t i = begin; i < end; i++) y[i] = 1.0f / sqrtf(x[i]);
      break;
    case OP_SIGMOID:
      for (size_t i = begin; i < end; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
      break;
    case OP_SQUARE:
      for (size_t i = begin; i < end; i++) y[i] = x[i] * x[i];
      break;
    case OP_POW:
      /* Small integer powers are products: exact and ~50× cheaper than powf. */
      if (q == 1.0f) {
        for (size_t i = begin; i < end; i++) y[i] = x[i];
      } else if (q == 2.0f) {
        for (size_t i = begin; i < end; i++) y[i] = x[i] * x[i];
      } else if (q == 3.0f) {
        for (size_t i = begin; i < end; i++) y[i] = x[i] * x[i] * x[i];
      } else {
        for (size_t i = begin; i < end; i++) y[i] = powf(x[i], q);
      }
      break;
  }
}

int unary(int op, const float *x, float *y, size_t n, float param) {
  if (op < 0 || op >= OP_COUNT) return -1;
  struct unary_ctx c = {op, x, y, param};
  /* A thread is worth waking for ~16k transcendental values (tens of microseconds of work); cheap arithmetic is
   * bound by memory and needs far more to gain anything. */
  const int cheap = op == OP_SQUARE || op == OP_SQRT || op == OP_RSQRT || (op == OP_POW && (param == 1.0f || param == 2.0f || param == 3.0f));
  parallel_for(n, cheap ? (size_t)1 << 18 : (size_t)1 << 14, unary_range, &c);
  return 0;
}
