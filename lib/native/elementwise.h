/* Elementwise float32 kernels on raw arrays, split over the thread pool (pool.h). See elementwise.c. */
#ifndef TIAOYU_ELEMENTWISE_H
#define TIAOYU_ELEMENTWISE_H
#include <stddef.h>

enum unary_op {
  OP_EXP = 0,
  OP_LOG = 1,
  OP_TANH = 2,
  OP_SQRT = 3,
  OP_RSQRT = 4,
  OP_SIGMOID = 5,
  OP_SQUARE = 6,
  OP_POW = 7, /* x^param */
  OP_COUNT
};

/* y[i] = op(x[i]) for i < n; returns 0, or -1 for an unknown op. */
int unary(int op, const float *x, float *y, size_t n, float param);
#endif
