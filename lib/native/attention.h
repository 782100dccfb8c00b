/* Fused causal self-attention for one training step. See attention.c. */
#ifndef TIAOYU_ATTENTION_H
#define TIAOYU_ATTENTION_H
#include <stddef.h>
#include <stdint.h>

struct attention_shape {
  size_t heads;  /* B·nh independent (query, key, value) groups */
  size_t t, s;   /* queries per group, keys per group (s ≥ offset + t: keys after offset + t − 1 are never seen) */
  size_t hs;     /* head size */
  size_t offset; /* query i sits at position offset + i and sees keys 0 … offset + i */
  float scale;   /* 1/√hs */
  float rate;    /* dropout on the attention weights (0: none) */
  uint32_t seed;
};

/* out [heads, t, hs] = dropout(softmax(q·kᵀ·scale + causal mask))·v; probs [heads, t, s] keeps the softmax. */
void attention_forward(const struct attention_shape *a, const float *q, const float *k, const float *v, float *out,
                       float *probs);
/* dq, dk, dv from dout, given the forward's probs. */
void attention_backward(const struct attention_shape *a, const float *q, const float *k, const float *v,
                        const float *probs, const float *dout, float *dq, float *dk, float *dv);
#endif
