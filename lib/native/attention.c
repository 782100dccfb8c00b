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
 * [B, nh, T, T] weights (a million numbers in the course model), plus the mask built anew each time.
 *
 * The groups are spread over the thread pool, and each group's small products ([T, hs] by [hs, T], T ≤ a few
 * hundred) use the plain loops below rather than OpenBLAS: one sgemm call per group and product means hundreds of
 * calls per step, each waking OpenBLAS's threads — fine on an idle machine, but on a busy one every call can wait
 * for a descheduled thread. The loops keep the innermost index contiguous, so the compiler vectorises them (FMA),
 * and they skip what the causal mask zeroes.
 */
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "vec8.h"

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
__attribute__((simd("notinbranch"))) float expf(float);
#endif

/*
 * C[m, n] = alpha · Σ_p A(i, p) · B[p, n], B row-major with row stride ldb, A(i, p) = a[i·ars + p·acs] (so A may
 * be a transpose). rows_of(i) limits p for row i (causal structure); pass NULL for all k.
 */
static void gemm_rows(size_t m, size_t n, size_t k, float alpha, const float *a, size_t ars, size_t acs,
                      const float *restrict b, size_t ldb, float *restrict c, size_t ldc, size_t p_limit_base,
                      int causal_p) {
  for (size_t i = 0; i < m; i++) {
    float *restrict ci = c + i * ldc;
    for (size_t j = 0; j < n; j++) ci[j] = 0.0f;
    const size_t kk = causal_p ? (p_limit_base + i + 1 < k ? p_limit_base + i + 1 : k) : k;
    for (size_t p = 0; p < kk; p++) {
      const float aip = alpha * a[i * ars + p * acs];
      if (aip == 0.0f) continue;
      const float *restrict bp = b + p * ldb;
      for (size_t j = 0; j < n; j++) ci[j] += aip * bp[j];
    }
  }
}


/*
 * The same product as gemm_rows, 4 rows × 16 columns of C at a time kept in registers (8 vector accumulators)
 * while p runs: each loaded piece of B serves four rows. With causal_p, a block of rows i … i+3 runs p up to the
 * limit of its last row; the extra terms are products with the zeros the mask put in A.
 */
static void gemm_blocked(size_t m, size_t n, size_t k, float alpha, const float *a, size_t ars, size_t acs,
                         const float *b, size_t ldb, float *c, size_t ldc, size_t p_limit_base, int causal_p) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const size_t kk = causal_p ? (p_limit_base + i + 4 < k ? p_limit_base + i + 4 : k) : k;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
      v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
      for (size_t p = 0; p < kk; p++) {
        const v8 b0 = load8(b + p * ldb + j), b1 = load8(b + p * ldb + j + 8);
        const float *ap = a + i * ars + p * acs;
        const v8 a0 = splat8(ap[0]), a1 = splat8(ap[ars]), a2 = splat8(ap[2 * ars]), a3 = splat8(ap[3 * ars]);
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c30 += a3 * b0;
        c31 += a3 * b1;
      }
      const v8 al = splat8(alpha);
      store8(c + i * ldc + j, al * c00);
      store8(c + i * ldc + j + 8, al * c01);
      store8(c + (i + 1) * ldc + j, al * c10);
      store8(c + (i + 1) * ldc + j + 8, al * c11);
      store8(c + (i + 2) * ldc + j, al * c20);
      store8(c + (i + 2) * ldc + j + 8, al * c21);
      store8(c + (i + 3) * ldc + j, al * c30);
      store8(c + (i + 3) * ldc + j + 8, al * c31);
    }
    for (; j < n; j++) {
      for (size_t r = 0; r < 4; r++) {
        float sum = 0.0f;
        for (size_t p = 0; p < kk; p++) sum += a[(i + r) * ars + p * acs] * b[p * ldb + j];
        c[(i + r) * ldc + j] = alpha * sum;
      }
    }
  }
  if (i < m) gemm_rows(m - i, n, k, alpha, a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, p_limit_base + i, causal_p);
}

/* dst[c, r] = src[r, c] for a [rows, cols] block. */
static void transpose(const float *restrict src, size_t rows, size_t cols, float *restrict dst) {
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

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

struct group_ctx {
  const struct attention_shape *a;
  const float *q, *k, *v, *probs_in, *dout;
  float *out, *probs, *dq, *dk, *dv;
};

/* Forward of groups [b, e): scores, masked softmax, dropout, times v. */
static void forward_groups(void *p, size_t b, size_t e) {
  const struct group_ctx *c = p;
  const struct attention_shape *a = c->a;
  const size_t t = a->t, s = a->s, hs = a->hs, ts = t * s;
  const struct dropout_coin dc = coin(a);
  float *kt = malloc(hs * s * sizeof(float));
  float *pd = a->rate > 0.0f ? malloc(ts * sizeof(float)) : NULL;
  for (size_t h = b; h < e; h++) {
    const float *q = c->q + h * t * hs, *k = c->k + h * s * hs, *v = c->v + h * s * hs;
    float *probs = c->probs + h * ts;
    transpose(k, s, hs, kt); /* [hs, s] */
    gemm_blocked(t, s, hs, a->scale, q, hs, 1, kt, s, probs, s, 0, 0);
    struct softmax_ctx sc = {a, probs};
    /* rows of this group only: softmax_rows uses r % t for the query position */
    softmax_rows(&sc, 0, t);
    const float *pw = probs;
    if (pd) {
      for (size_t i = 0; i < ts; i++) pd[i] = probs[i];
      dropout_row(pd, ts, h * ts, dc.key, dc.threshold, dc.scale);
      pw = pd;
    }
    /* out = Pd·v: row i only has keys ≤ offset + i */
    gemm_blocked(t, hs, s, 1.0f, pw, s, 1, v, hs, c->out + h * t * hs, hs, a->offset, 1);
  }
  free(kt);
  free(pd);
}

/*
 * Groups per chunk of the thread pool: enough that a chunk is worth waking a thread for (about 64K multiply-adds).
 * Generation feeds one query per group (t = 1): a few thousand multiply-adds each, where handing groups to another
 * thread costs more than it saves (and on a busy machine the caller may wait for a descheduled worker).
 */
static size_t group_grain(const struct attention_shape *a) {
  const size_t per_group = a->t * a->s * a->hs + 1;
  return per_group >= 65536 ? 1 : 65536 / per_group;
}

void attention_forward(const struct attention_shape *a, const float *q, const float *k, const float *v, float *out,
                       float *probs) {
  struct group_ctx c = {a, q, k, v, NULL, NULL, out, probs, NULL, NULL, NULL};
  parallel_for(a->heads, group_grain(a), forward_groups, &c);
}

static void backward_groups(void *p, size_t b, size_t e) {
  const struct group_ctx *c = p;
  const struct attention_shape *a = c->a;
  const size_t t = a->t, s = a->s, hs = a->hs, ts = t * s;
  const struct dropout_coin dc = coin(a);
  float *dp = malloc(ts * sizeof(float));
  float *vt = malloc(hs * s * sizeof(float));
  float *pd = a->rate > 0.0f ? malloc(ts * sizeof(float)) : NULL;
  for (size_t h = b; h < e; h++) {
    const float *q = c->q + h * t * hs, *k = c->k + h * s * hs, *v = c->v + h * s * hs;
    const float *P = c->probs_in + h * ts, *dO = c->dout + h * t * hs;
    const float *pw = P;
    if (pd) {
      for (size_t i = 0; i < ts; i++) pd[i] = P[i];
      dropout_row(pd, ts, h * ts, dc.key, dc.threshold, dc.scale);
      pw = pd;
    }
    /* dv[s, hs] = Pdᵀ·dO: A(j, i) = Pd[i, j] */
    gemm_blocked(s, hs, t, 1.0f, pw, 1, s, dO, hs, c->dv + h * s * hs, hs, 0, 0);
    /* dPd[t, s] = dO·vᵀ */
    transpose(v, s, hs, vt);
    gemm_blocked(t, s, hs, 1.0f, dO, hs, 1, vt, s, dp, s, 0, 0);
    if (pd) dropout_row(dp, ts, h * ts, dc.key, dc.threshold, dc.scale);
    for (size_t i = 0; i < t; i++) {
      float *row = dp + i * s;
      const float *prow = P + i * s;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (size_t j = 0; j < s; j++) dot += row[j] * prow[j];
      for (size_t j = 0; j < s; j++) row[j] = prow[j] * (row[j] - dot);
    }
    /* dq[t, hs] = dS·k·scale (row i: keys ≤ offset + i);  dk[s, hs] = dSᵀ·q·scale */
    gemm_blocked(t, hs, s, a->scale, dp, s, 1, k, hs, c->dq + h * t * hs, hs, a->offset, 1);
    gemm_blocked(s, hs, t, a->scale, dp, 1, s, q, hs, c->dk + h * s * hs, hs, 0, 0);
  }
  free(dp);
  free(vt);
  free(pd);
}

void attention_backward(const struct attention_shape *a, const float *q, const float *k, const float *v,
                        const float *probs, const float *dout, float *dq, float *dk, float *dv) {
  struct group_ctx c = {a, q, k, v, probs, dout, NULL, NULL, dq, dk, dv};
  parallel_for(a->heads, group_grain(a), backward_groups, &c);
}
