/*
 * Fused kernels for a GPT's training step.
 *
 * Written as separate tfjs ops, GELU is 8 elementwise passes forward and about 15 backward, LayerNorm about 8 and
 * 20, and softmax cross-entropy over the vocabulary a dozen passes over the largest tensor of a small model
 * (768 × 6400 logits). Each pass reads and writes memory and costs a kernel launch in tfjs. Here each is one or
 * two passes, vectorised (libmvec) and split over the thread pool.
 */
#include "fused.h"

#include <math.h>

#include "pool.h"

#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__aarch64__))
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) float tanhf(float);
#endif

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_C 0.044715f

/* ---- GELU ---------------------------------------------------------------------------------------------- */

struct gelu_ctx {
  const float *x, *dy;
  float *out;
};

static void gelu_fwd_range(void *p, size_t b, size_t e) {
  const struct gelu_ctx *c = p;
  const float *restrict x = c->x;
  float *restrict y = c->out;
  for (size_t i = b; i < e; i++) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhf(GELU_K * (v + GELU_C * v * v * v)));
  }
}

static void gelu_bwd_range(void *p, size_t b, size_t e) {
  const struct gelu_ctx *c = p;
  const float *restrict x = c->x;
  const float *restrict dy = c->dy;
  float *restrict dx = c->out;
  for (size_t i = b; i < e; i++) {
    const float v = x[i];
    const float t = tanhf(GELU_K * (v + GELU_C * v * v * v));
    const float du = GELU_K * (1.0f + 3.0f * GELU_C * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  }
}

void gelu_forward(const float *x, float *y, size_t n) {
  struct gelu_ctx c = {x, NULL, y};
  parallel_for(n, 1 << 14, gelu_fwd_range, &c);
}

void gelu_backward(const float *x, const float *dy, float *dx, size_t n) {
  struct gelu_ctx c = {x, dy, dx};
  parallel_for(n, 1 << 14, gelu_bwd_range, &c);
}

/* ---- LayerNorm ----------------------------------------------------------------------------------------- */

struct ln_ctx {
  const float *x, *gamma, *beta, *mean_in, *rstd_in, *dy;
  float eps;
  size_t d;
  float *y, *mean, *rstd, *dx;
};

static void ln_fwd_range(void *p, size_t b, size_t e) {
  const struct ln_ctx *c = p;
  const size_t d = c->d;
  for (size_t r = b; r < e; r++) {
    const float *restrict x = c->x + r * d;
    float *restrict y = c->y + r * d;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < d; j++) s += x[j];
    const float m = s / (float)d;
    float q = 0.0f;
#pragma omp simd reduction(+ : q)
    for (size_t j = 0; j < d; j++) q += (x[j] - m) * (x[j] - m);
    const float rs = 1.0f / sqrtf(q / (float)d + c->eps);
    if (c->beta) {
      for (size_t j = 0; j < d; j++) y[j] = (x[j] - m) * rs * c->gamma[j] + c->beta[j];
    } else {
      for (size_t j = 0; j < d; j++) y[j] = (x[j] - m) * rs * c->gamma[j];
    }
    c->mean[r] = m;
    c->rstd[r] = rs;
  }
}

static void ln_bwd_range(void *p, size_t b, size_t e) {
  const struct ln_ctx *c = p;
  const size_t d = c->d;
  for (size_t r = b; r < e; r++) {
    const float *restrict x = c->x + r * d;
    const float *restrict dy = c->dy + r * d;
    float *restrict dx = c->dx + r * d;
    const float m = c->mean_in[r], rs = c->rstd_in[r];
    /* With x̂ = (x − m)·rs and g = dy·γ: dx = rs·(g − mean(g) − x̂·mean(g·x̂)). */
    float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
    for (size_t j = 0; j < d; j++) {
      const float g = dy[j] * c->gamma[j];
      sg += g;
      sgx += g * (x[j] - m) * rs;
    }
    sg /= (float)d;
    sgx /= (float)d;
    for (size_t j = 0; j < d; j++) dx[j] = rs * (dy[j] * c->gamma[j] - sg - (x[j] - m) * rs * sgx);
  }
}

void layernorm_forward(const float *x, const float *gamma, const float *beta, float eps, size_t rows, size_t d,
                       float *y, float *mean, float *rstd) {
  struct ln_ctx c = {x, gamma, beta, NULL, NULL, NULL, eps, d, y, mean, rstd, NULL};
  parallel_for(rows, (1 << 14) / (d ? d : 1) + 1, ln_fwd_range, &c);
}

void layernorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd, const float *dy,
                        size_t rows, size_t d, float *dx, float *dgamma, float *dbeta) {
  struct ln_ctx c = {x, gamma, NULL, mean, rstd, dy, 0.0f, d, NULL, NULL, NULL, dx};
  parallel_for(rows, (1 << 14) / (d ? d : 1) + 1, ln_bwd_range, &c);
  /* The parameter gradients sum over rows: one pass on this thread (rows·d is small next to the products). */
  for (size_t j = 0; j < d; j++) dgamma[j] = 0.0f;
  if (dbeta)
    for (size_t j = 0; j < d; j++) dbeta[j] = 0.0f;
  for (size_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * d;
    const float *restrict dyr = dy + r * d;
    const float m = mean[r], rs = rstd[r];
    for (size_t j = 0; j < d; j++) dgamma[j] += dyr[j] * (xr[j] - m) * rs;
    if (dbeta)
      for (size_t j = 0; j < d; j++) dbeta[j] += dyr[j];
  }
}

/* ---- softmax cross-entropy ------------------------------------------------------------------------------ */

struct xent_ctx {
  const float *logits, *lse_in, *dnll;
  const int32_t *targets;
  size_t v;
  float *nll, *lse, *dlogits;
  long bad; /* a row with a target out of range, or -1 (rows are disjoint per thread; any one is reported) */
};

static void xent_fwd_range(void *p, size_t b, size_t e) {
  struct xent_ctx *c = p;
  const size_t v = c->v;
  for (size_t r = b; r < e; r++) {
    const float *restrict l = c->logits + r * v;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (size_t j = 0; j < v; j++) m = l[j] > m ? l[j] : m;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (size_t j = 0; j < v; j++) s += expf(l[j] - m);
    const float lse = m + logf(s);
    const int32_t t = c->targets[r];
    c->lse[r] = lse;
    if (t < 0 || (size_t)t >= v) {
      c->bad = (long)r;
      c->nll[r] = NAN;
    } else {
      c->nll[r] = lse - l[t];
    }
  }
}

static void xent_bwd_range(void *p, size_t b, size_t e) {
  const struct xent_ctx *c = p;
  const size_t v = c->v;
  for (size_t r = b; r < e; r++) {
    const float *restrict l = c->logits + r * v;
    float *restrict d = c->dlogits + r * v;
    const float lse = c->lse_in[r], g = c->dnll[r];
    for (size_t j = 0; j < v; j++) d[j] = expf(l[j] - lse) * g;
    const int32_t t = c->targets[r];
    if (t >= 0 && (size_t)t < v) d[t] -= g;
  }
}

long xent_forward(const float *logits, const int32_t *targets, size_t rows, size_t v, float *nll, float *lse) {
  struct xent_ctx c = {logits, NULL, NULL, targets, v, nll, lse, NULL, -1};
  parallel_for(rows, (1 << 15) / (v ? v : 1) + 1, xent_fwd_range, &c);
  return c.bad;
}

void xent_backward(const float *logits, const int32_t *targets, const float *lse, const float *dnll, size_t rows,
                   size_t v, float *dlogits) {
  struct xent_ctx c = {logits, lse, dnll, targets, v, NULL, NULL, dlogits, -1};
  parallel_for(rows, (1 << 15) / (v ? v : 1) + 1, xent_bwd_range, &c);
}

/* ---- dropout ------------------------------------------------------------------------------------------------ */

/* A 32-bit integer hash with good avalanche (Chris Wellons' "lowbias32"): counter-based random numbers, so any
 * element's coin is known without generating the ones before it, and loops vectorise. */
static inline uint32_t mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  h ^= h >> 16;
  return h;
}

struct dropout_ctx {
  const float *x;
  float *y;
  uint32_t key, threshold;
  float scale;
};

static void dropout_range(void *p, size_t b, size_t e) {
  const struct dropout_ctx *c = p;
  const float *restrict x = c->x;
  float *restrict y = c->y;
  for (size_t i = b; i < e; i++) {
    const uint32_t h = mix32((uint32_t)i * 0x9E3779B1U ^ c->key);
    y[i] = h >= c->threshold ? x[i] * c->scale : 0.0f;
  }
}

void dropout_apply(const float *x, float *y, size_t n, float rate, uint32_t seed) {
  double t = (double)rate * 4294967296.0;
  struct dropout_ctx c = {x, y, mix32(seed ^ 0x5bd1e995U), t >= 4294967295.0 ? 0xffffffffU : (uint32_t)t,
                          1.0f / (1.0f - rate)};
  parallel_for(n, 1 << 15, dropout_range, &c);
}

/* ---- AdamW -------------------------------------------------------------------------------------------------- */

struct adamw_ctx {
  const float *w, *g, *m, *v;
  const struct adamw_params *p;
  float *w2, *m2, *v2;
};

static void adamw_range(void *q, size_t b, size_t e) {
  const struct adamw_ctx *c = q;
  const struct adamw_params *p = c->p;
  const float step = p->lr / p->bc1;
  for (size_t i = b; i < e; i++) {
    const float g = c->g[i] * p->grad_scale;
    const float m = p->beta1 * c->m[i] + p->one_minus_beta1 * g;
    const float v = p->beta2 * c->v[i] + p->one_minus_beta2 * (g * g);
    const float denom = sqrtf(v) / p->bc2_sqrt + p->eps;
    c->w2[i] = c->w[i] * p->decay_factor - (m / denom) * step;
    c->m2[i] = m;
    c->v2[i] = v;
  }
}

void adamw_step(const float *w, const float *g, const float *m, const float *v, size_t n, const struct adamw_params *p,
                float *w2, float *m2, float *v2) {
  struct adamw_ctx c = {w, g, m, v, p, w2, m2, v2};
  parallel_for(n, 1 << 16, adamw_range, &c);
}

/* ---- column sums -------------------------------------------------------------------------------------------- */

struct colsum_ctx {
  const float *x;
  size_t rows, cols;
  float *y;
};

/* Columns [b, e): each thread owns whole columns, adding row after row (contiguous, vectorised). */
static void colsum_range(void *p, size_t b, size_t e) {
  const struct colsum_ctx *c = p;
  float *restrict y = c->y;
  for (size_t j = b; j < e; j++) y[j] = 0.0f;
  for (size_t i = 0; i < c->rows; i++) {
    const float *restrict xi = c->x + i * c->cols;
    for (size_t j = b; j < e; j++) y[j] += xi[j];
  }
}

void column_sum(const float *x, size_t rows, size_t cols, float *y) {
  struct colsum_ctx c = {x, rows, cols, y};
  /* split by columns only when each thread still gets long rows to stream through */
  parallel_for(cols, rows * cols >= (1 << 18) ? 64 : cols + 1, colsum_range, &c);
}
