/*
 * One generation step of a GPT-2 style model (LayerNorm, GELU, learned or no additive positions) for `batch`
 * sequences of one new token each, through the key/value cache: the whole per-token forward pass in one call.
 *
 * Why: at batch 1 a token of the course model is ~1.6 M multiply-adds but ~100 tfjs kernels (norms, products,
 * bias adds, head splits, cache writes, attention, residual adds, reshapes …), each costing tens of microseconds of
 * dispatch and bookkeeping on the wasm backend: overhead, not arithmetic, set the speed of generation.
 *
 * The same arithmetic as the kernel-by-kernel route on wasm with the addon, in the same order and through the same
 * functions (product.c's product with the same arguments, layernorm_forward, gelu_forward, attention_forward, a
 * bias and a residual as separate float additions), so the logits are bit for bit those of lib/model/gpt.ts's forward
 * (test/lib/decode.test.ts checks that). Nothing here may be fused or reordered without giving that up.
 */
#include "decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "fused.h"
#include "product.h"


/* y[rows, n] = x[rows, k]·w[k, n] (+ bias, added after the product, as tf.add does). */
static void linear(const float *x, const float *w, const float *bias, size_t rows, size_t k, size_t n, float *y) {
  product(rows, n, k, 0, 0, x, w, y);
  if (bias)
    for (size_t r = 0; r < rows; r++)
      for (size_t j = 0; j < n; j++) y[r * n + j] = y[r * n + j] + bias[j];
}

/* x += y, elementwise (the residual connection). */
static void add_into(float *x, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = x[i] + y[i];
}

int decode_step(const struct decode_model *m) {
  const size_t B = m->batch, D = m->d, H = m->hidden, nh = m->n_head, hs = D / nh, cap = m->cap, pos = m->pos;
  /* scratch per sequence: x, h, qkv (3D), q, att, tmp (D each), u, g (H each), probs (nh·cap), mean, rstd */
  const size_t floats = B * (D * 8 + 2 * H + nh * cap + 2);
  float *scratch = malloc(floats * sizeof(float));
  if (!scratch) return -1;
  float *x = scratch, *h = x + B * D, *qkv = h + B * D, *q = qkv + 3 * B * D, *att = q + B * D;
  float *tmp = att + B * D, *u = tmp + B * D, *g = u + B * H, *probs = g + B * H, *mean = probs + B * nh * cap;
  float *rstd = mean + B;

  /* token embedding + position embedding */
  for (size_t b = 0; b < B; b++) {
    const float *row = m->wte + (size_t)m->ids[b] * D;
    for (size_t j = 0; j < D; j++) x[b * D + j] = m->wpe ? row[j] + m->wpe[pos * D + j] : row[j];
  }
  const struct attention_shape sh = {B * nh, 1, cap, hs, pos, (float)(1.0 / sqrt((double)hs)), 0.0f, 0};
  for (size_t l = 0; l < m->n_layer; l++) {
    const struct decode_layer *L = &m->layers[l];
    layernorm_forward(x, L->ln1_g, L->ln1_b, m->eps, B, D, h, mean, rstd);
    linear(h, L->attn_w, L->attn_b, B, D, 3 * D, qkv);
    /* q, k, v [B, nh, 1, hs]: q into its own block, k and v straight into the cache at position pos */
    for (size_t b = 0; b < B; b++) {
      const float *row = qkv + b * 3 * D;
      memcpy(q + b * D, row, D * sizeof(float));
      for (size_t hd = 0; hd < nh; hd++) {
        const size_t at = ((b * nh + hd) * cap + pos) * hs;
        memcpy(L->k_cache + at, row + D + hd * hs, hs * sizeof(float));
        memcpy(L->v_cache + at, row + 2 * D + hd * hs, hs * sizeof(float));
      }
    }
    attention_forward(&sh, q, L->k_cache, L->v_cache, att, probs); /* att [B, nh, 1, hs] = [B, D] */
    linear(att, L->attn_proj_w, L->attn_proj_b, B, D, D, tmp);
    add_into(x, tmp, B * D);
    layernorm_forward(x, L->ln2_g, L->ln2_b, m->eps, B, D, h, mean, rstd);
    linear(h, L->fc_w, L->fc_b, B, D, H, u);
    gelu_forward(u, g, B * H);
    linear(g, L->mlp_proj_w, L->mlp_proj_b, B, H, D, tmp);
    add_into(x, tmp, B * D);
  }
  layernorm_forward(x, m->lnf_g, m->lnf_b, m->eps, B, D, h, mean, rstd);
  product(B, m->vocab, D, 0, 1, h, m->head, m->logits);
  free(scratch);
  return 0;
}
