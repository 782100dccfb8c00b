/* One token of a GPT's forward pass through its key/value cache, as one call. See decode.c. */
#ifndef TIAOYU_DECODE_H
#define TIAOYU_DECODE_H
#include <stddef.h>
#include <stdint.h>

/* One decoder block's weights (row-major, [in, out] as lib/model/linear.ts stores them); a NULL bias is none. */
struct decode_layer {
  const float *ln1_g, *ln1_b, *attn_w, *attn_b, *attn_proj_w, *attn_proj_b;
  const float *ln2_g, *ln2_b, *fc_w, *fc_b, *mlp_proj_w, *mlp_proj_b;
  float *k_cache, *v_cache; /* [B, nh, cap, hs], written at position pos */
};

struct decode_model {
  size_t batch, pos, n_layer, n_head, d, hidden, vocab, cap;
  float eps;
  const int32_t *ids;      /* [batch], checked by the caller to lie in [0, vocab) */
  const float *wte;        /* [vocab, d] */
  const float *wpe;        /* [cap, d] added at row pos, or NULL */
  const float *lnf_g, *lnf_b;
  const float *head;       /* [vocab, d]: logits = h · headᵀ */
  const struct decode_layer *layers;
  float *logits;           /* [batch, vocab] */
};

/* Returns 0, or -1 when scratch memory could not be allocated. */
int decode_step(const struct decode_model *m);
#endif
