/*
 * Causal self-attention, forward and backward, for one group (batch × head) at a time:
 *
 *   P = softmax(q·kᵀ·scale + mask)      [t, s]   mask: key j is visible to query i iff j ≤ offset + i
 *   Pd = dropout(P)                                (same counter-based coin as lib/native/fused.c's dropout,
 *   out = Pd·v                           [t, hs]    indexed by the position in the [heads, t, s] weights)
 *
 *   backward, with dPd = dout·vᵀ:  dv = Pdᵀ·dout;  dP = dropout(dPd);  dS = P ∘ (dP − rowsum(dP ∘ P));
 *                                  dq = dS·k·scale;  dk = dSᵀ·q·scale
 *
 * Written as tfjs ops this is ~20 kernels forward and ~30 backward per layer, each a pass over the
 * [B, nh, T, T] weights (a million numbers in the course model), plus the mask built anew each time. The
 * products go to OpenBLAS (one group at a time); the softmax and its gradient are single vectorised passes.
 */
#include "attention.h"

#include <math.h>
#include <stdlib.h>

#include "pool.h"

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
__attribute__((simd("notinbranch"))) float expf(float);
#endif

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a,
                        int lda, const float *b, int ldb, float beta, float *c, int ldc);

static inline uint32_t mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  h ^= h >> 16;
  return h;
}

/* Applies the dropout coin of weights index base + j to row[j] in place (kept: × scale, dropped: 0). */
static void dropout_row(float *row, size_t n, size_t base, uint32_t key, uint32_t threshold, float scale) {
  for (size_t j = 0; j < n; j++) {
    const uint32_t h = mix32((uint32_t)(base + j) * 0x9E3779B1U ^ key);
    row[j] = h >= threshold ? row[j] * scale : 0.0f;
  }
}

struct dropout_coin {
  uint32_t key, threshold;
  float scale;
};

static struct dropout_coin coin(const struct attention_shape *a) {
  double t = (double)a->rate * 4294967296.0;
  struct dropout_coin c = {mix32(a->seed ^ 0x5bd1e995U), t >= 4294967295.0 ? 0xffffffffU : (uint32_t)t,
                           1.0f / (1.0f - a->rate)};
  return c;
}

struct softmax_ctx {
  const struct attention_shape *a;
  float *probs; /* in: scores, out: softmax */
};

/* Masked softmax over rows of all groups: rows [b, e) of the [heads·t, s] score matrix. */
static void softmax_rows(void *p, size_t b, size_t e) {
  const struct softmax_ctx *c = p;
  const size_t t = c->a->t, s = c->a->s;
  for (size_t r = b; r < e; r++) {
    float *row = c->probs + r * s;
    const size_t visible = c->a->offset + (r % t) + 1; /* keys 0 … offset + i */
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (size_t j = 0; j < visible; j++) m = row[j] > m ? row[j] : m;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (size_t j = 0; j < visible; j++) {
      row[j] = expf(row[j] - m);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (size_t j = 0; j < visible; j++) row[j] *= inv;
    for (size_t j = visible; j < s; j++) row[j] = 0.0f;
  }
}

void attention_forward(const struct attention_shape *a, const float *q, const float *k, const float *v, float *out,
                       float *probs) {
  const int t = (int)a->t, s = (int)a->s, hs = (int)a->hs;
  for (size_t h = 0; h < a->heads; h++) {
    cblas_sgemm(RowMajor, NoTrans, Trans, t, s, hs, a->scale, q + h * a->t * a->hs, hs, k + h * a->s * a->hs, hs, 0.0f,
                probs + h * a->t * a->s, s);
  }
  struct softmax_ctx c = {a, probs};
  parallel_for(a->heads * a->t, (1 << 14) / (a->s ? a->s : 1) + 1, softmax_rows, &c);
  float *pd = NULL;
  if (a->rate > 0.0f) pd = malloc(a->t * a->s * sizeof(float));
  const struct dropout_coin dc = coin(a);
  for (size_t h = 0; h < a->heads; h++) {
    const float *p = probs + h * a->t * a->s;
    if (pd) {
      for (size_t i = 0; i < a->t * a->s; i++) pd[i] = p[i];
      dropout_row(pd, a->t * a->s, h * a->t * a->s, dc.key, dc.threshold, dc.scale);
      p = pd;
    }
    cblas_sgemm(RowMajor, NoTrans, NoTrans, t, hs, s, 1.0f, p, s, v + h * a->s * a->hs, hs, 0.0f,
                out + h * a->t * a->hs, hs);
  }
  free(pd);
}

void attention_backward(const struct attention_shape *a, const float *q, const float *k, const float *v,
                        const float *probs, const float *dout, float *dq, float *dk, float *dv) {
  const int t = (int)a->t, s = (int)a->s, hs = (int)a->hs;
  const size_t ts = a->t * a->s;
  float *dp = malloc(ts * sizeof(float));
  float *pd = a->rate > 0.0f ? malloc(ts * sizeof(float)) : NULL;
  const struct dropout_coin dc = coin(a);
  for (size_t h = 0; h < a->heads; h++) {
    const float *p = probs + h * ts;
    const float *dO = dout + h * a->t * a->hs;
    /* dv = Pdᵀ·dout */
    const float *pdrop = p;
    if (pd) {
      for (size_t i = 0; i < ts; i++) pd[i] = p[i];
      dropout_row(pd, ts, h * ts, dc.key, dc.threshold, dc.scale);
      pdrop = pd;
    }
    cblas_sgemm(RowMajor, Trans, NoTrans, s, hs, t, 1.0f, pdrop, s, dO, hs, 0.0f, dv + h * a->s * a->hs, hs);
    /* dPd = dout·vᵀ, then through dropout, then through softmax: dS = P ∘ (dP − rowsum(dP ∘ P)) */
    cblas_sgemm(RowMajor, NoTrans, Trans, t, s, hs, 1.0f, dO, hs, v + h * a->s * a->hs, hs, 0.0f, dp, s);
    if (pd) dropout_row(dp, ts, h * ts, dc.key, dc.threshold, dc.scale);
    for (size_t i = 0; i < a->t; i++) {
      float *row = dp + i * a->s;
      const float *prow = p + i * a->s;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (size_t j = 0; j < a->s; j++) dot += row[j] * prow[j];
      for (size_t j = 0; j < a->s; j++) row[j] = prow[j] * (row[j] - dot);
    }
    /* dq = dS·k·scale, dk = dSᵀ·q·scale */
    cblas_sgemm(RowMajor, NoTrans, NoTrans, t, hs, s, a->scale, dp, s, k + h * a->s * a->hs, hs, 0.0f,
                dq + h * a->t * a->hs, hs);
    cblas_sgemm(RowMajor, Trans, NoTrans, s, hs, t, a->scale, dp, s, q + h * a->t * a->hs, hs, 0.0f,
                dk + h * a->s * a->hs, hs);
  }
  free(dp);
  free(pd);
}
