/* The gradient of a LoRA layer's adapter matrices in one pass over its input and output gradient. See lora.c. */
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
#endif
