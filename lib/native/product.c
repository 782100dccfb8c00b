/*
 * Matrix products for the native routes. Large ones go to OpenBLAS's sgemm. Products of a few rows by a weight
 * matrix — every product of generation at batch 1 to 4, one token at a time — use the loops below: OpenBLAS 0.3.21
 * packs the whole right operand into its own layout on every sgemm call, so x[1, 128]·wteᵀ[128, 6400] spent most
 * of its time copying 3 MB (~0.2–0.5 ms), where one pass over the weights is enough.
 *
 * Both the kernel-by-kernel route (tiaoyu_native.c's sgemm, via lib/kernels/matmul.ts) and the one-call generation
 * step (decode.c) come here, so the two compute the same floats in the same order. The loops run on the calling
 * thread and sum each output element in a fixed order, so the result does not depend on the thread count.
 */
#include "product.h"

#include <string.h>

#include "vec8.h"

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc);


struct small_ctx {
  size_t m, n, k;
  const float *a, *b;
  float *c;
};

/* Columns [jb, je) of c = a·b, b [k, n]: row p of b is added, scaled by a[i, p], into every row i of c. */
static void rows_by_matrix(void *p, size_t jb, size_t je) {
  const struct small_ctx *x = p;
  const size_t m = x->m, n = x->n, k = x->k;
  for (size_t i = 0; i < m; i++)
    for (size_t j = jb; j < je; j++) x->c[i * n + j] = 0.0f;
  for (size_t q = 0; q < k; q++) {
    const float *restrict bq = x->b + q * n;
    for (size_t i = 0; i < m; i++) {
      const float aiq = x->a[i * k + q];
      float *restrict ci = x->c + i * n;
      for (size_t j = jb; j < je; j++) ci[j] += aiq * bq[j];
    }
  }
}

/* Columns [jb, je) of c = a·bᵀ, b [n, k]: dot products of a's rows with b's rows, eight lanes then a fixed sum. */
static void rows_by_transpose(void *p, size_t jb, size_t je) {
  const struct small_ctx *x = p;
  const size_t m = x->m, n = x->n, k = x->k, k8 = k & ~(size_t)7;
  for (size_t j = jb; j < je; j++) {
    const float *bj = x->b + j * k;
    for (size_t i = 0; i < m; i++) {
      const float *ai = x->a + i * k;
      v8 acc = {0};
      for (size_t q = 0; q < k8; q += 8) acc += load8(ai + q) * load8(bj + q);
      float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (size_t q = k8; q < k; q++) s += ai[q] * bj[q];
      x->c[i * n + j] = s;
    }
  }
}

void product(size_t m, size_t n, size_t k, int trans_a, int trans_b, const float *a, const float *b, float *c) {
  if (!trans_a && m <= PRODUCT_SMALL_ROWS) {
    struct small_ctx x = {m, n, k, a, b, c};
    /* One thread: these products read each weight once and are bound by memory, and on a busy machine waiting for
       a descheduled worker cost more than the second core gained (measured: 56 µs alone, 80 µs with two threads,
       for the course model's output layer, under load). */
    (trans_b ? rows_by_transpose : rows_by_matrix)(&x, 0, n);
    return;
  }
  cblas_sgemm(RowMajor, trans_a ? Trans : NoTrans, trans_b ? Trans : NoTrans, (int)m, (int)n, (int)k, 1.0f, a,
              trans_a ? (int)m : (int)k, b, trans_b ? (int)k : (int)n, 0.0f, c, (int)n);
}
