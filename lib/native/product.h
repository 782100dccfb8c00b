/* The matrix product every native route uses (the sgemm binding, decode.c). See product.c. */
#ifndef TIAOYU_PRODUCT_H
#define TIAOYU_PRODUCT_H
#include <stddef.h>

/* Rows of A up to which product() uses its own loops instead of OpenBLAS (measured crossover: about 4). */
#define PRODUCT_SMALL_ROWS 4

/* c[m, n] = op(a)·op(b), row-major: a [m, k] ([k, m] when trans_a), b [k, n] ([n, k] when trans_b). k ≥ 1. */
void product(size_t m, size_t n, size_t k, int trans_a, int trans_b, const float *a, const float *b, float *c);
#endif
