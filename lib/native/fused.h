/* Fused float32 kernels for a GPT's training step, on raw row-major arrays. See fused.c. */
#ifndef TIAOYU_FUSED_H
#define TIAOYU_FUSED_H
#include <stddef.h>
#include <stdint.h>

/* GELU, tanh approximation (GPT-2): y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
void gelu_forward(const float *x, float *y, size_t n);
/* dx = dy · gelu'(x). */
void gelu_backward(const float *x, const float *dy, float *dx, size_t n);

/* LayerNorm over the last axis of x [rows, d]; beta may be NULL. Saves mean and rstd = 1/sqrt(var + eps) per row. */
void layernorm_forward(const float *x, const float *gamma, const float *beta, float eps, size_t rows, size_t d,
                       float *y, float *mean, float *rstd);
/* dx [rows, d]; dgamma and dbeta [d] (dbeta may be NULL). */
void layernorm_backward(const float *x, const float *gamma, const float *mean, const float *rstd, const float *dy,
                        size_t rows, size_t d, float *dx, float *dgamma, float *dbeta);

/* Per row of logits [rows, v]: lse = log Σ exp, nll = lse − logits[target]. Returns the first row whose target is
 * outside [0, v), or -1. */
long xent_forward(const float *logits, const int32_t *targets, size_t rows, size_t v, float *nll, float *lse);
/* dlogits = (softmax(logits) − onehot(target)) · dnll[row]. */
void xent_backward(const float *logits, const int32_t *targets, const float *lse, const float *dnll, size_t rows,
                   size_t v, float *dlogits);
/* Inverted dropout: y[i] = keep(i) ? x[i] / (1 − rate) : 0, where keep(i) is a hash of (seed, i) ≥ rate·2³².
 * The same seed gives the same mask, so the gradient is the same call on dy. */
void dropout_apply(const float *x, float *y, size_t n, float rate, uint32_t seed);

/* One AdamW step for one parameter (see lib/kernels/fused.ts): writes w2, m2, v2 (may alias w, m, v). */
struct adamw_params {
  float lr, beta1, beta2, eps, decay_factor, bc1, bc2_sqrt, grad_scale;
  /* 1 − β1 and 1 − β2 rounded once from double: 1 − 0.999f in float is off by 1.3e-5 relative, which moved the
     weights ~20 float steps away from the JavaScript and plain-ops routes */
  float one_minus_beta1, one_minus_beta2;
};
void adamw_step(const float *w, const float *g, const float *m, const float *v, size_t n, const struct adamw_params *p,
                float *w2, float *m2, float *v2);
/* y[j] = Σ_i x[i, j] over x [rows, cols]: the sum over leading axes (e.g. a bias gradient). */
void column_sum(const float *x, size_t rows, size_t cols, float *y);
#endif
