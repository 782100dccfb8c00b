/* A LoRA layer's product with the folded weight, and its adapter matrices' gradient in one pass. See lora.c. */
#ifndef TIAOYU_LORA_H
#define TIAOYU_LORA_H
#include <stddef.h>

/*
 * For x [n, in], dy [n, out], a [in, r], b [r, out]:
 *   da [in, r]  = scale · xᵀ·(dy·bᵀ)
 *   db [r, out] = scale · (x·a)ᵀ·dy
 * Returns 0, or -1 when out of memory.
 */
int lora_grad(const float *x, const float *dy, const float *a, const float *b, size_t n, size_t in, size_t out,
              size_t r, float scale, float *da, float *db);
/*
 * The forward product of a LoRA layer with the correction folded into the weight, x [n, in], w [in, out]:
 *   wf [in, out] = w + scale·a·b        y [n, out] = x·wf
 * wf is kept for the gradient (dx = dy·wfᵀ).
 */
void lora_forward(const float *x, const float *w, const float *a, const float *b, size_t n, size_t in, size_t out,
                  size_t r, float scale, float *y, float *wf);
#endif
