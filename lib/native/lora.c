/*
 * The gradient of LoRA's A and B (lib/train/lora.ts) for one adapted layer, x [n, in] and dy [n, out]:
 *
 *   u = dy·Bᵀ [n, r]    v = x·A [n, r]    dA = scale·xᵀ·u [in, r]    dB = scale·vᵀ·dy [r, out]
 *
 * As four matrix products (the route without this kernel) each one reads all n rows of x or dy from memory, and
 * with r = 8 columns there is little arithmetic per byte read: on the course model the four took ~60 ms of a
 * ~470 ms LoRA step, more than the products of the frozen layers they sit on. Here the rows go through in tiles of
 * four: a tile of x and of dy is read from memory once and stays in the first-level cache while all four products
 * use it.
 *
 * The x side is computed with Aᵀ [r, in] and dAᵀ, so both sides are the same two loops along a long row: dot
 * products of a row with r weight rows (u, v), and r scaled additions of a row into r accumulator rows (dA, dB).
 *
 * The rows are split into LORA_SLICES fixed slices, each summing into its own accumulators, and the slices are
 * added in order at the end: the result does not depend on how many threads ran them.
 */
#include "lora.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "product.h"
#include "vec8.h"

#define LORA_SLICES 8
#define TILE 4
/* parallel_for hands out ranges in multiples of 16 (whole vectors, for elementwise kernels): one slice is 16 units. */
#define UNITS 16


/*
 * Keeps a loaded vector in a register (see dots_4x4). Only where a v8 is one register (x86 with AVX): elsewhere
 * (SSE-only x86, ARM) it is two, the constraint cannot be met and the file would not compile, so it does nothing
 * there and the loop is merely slower.
 */
#if defined(__x86_64__) && defined(__AVX__)
#define PIN(v) __asm__("" : "+x"(v))
#else
#define PIN(v) ((void)0)
#endif

static inline float sum8(v8 s) { return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); }

/* dots[t·r + k] = rows[t]·m[k] for t < nt rows of width w (stride w) and rows k0 ≤ k < k1 of m [r, w]. */
static void dots_any(const float *rows, size_t nt, size_t w, const float *m, size_t r, size_t k0, size_t k1, float *dots) {
  const size_t w8 = w & ~(size_t)7;
  for (size_t k = k0; k < k1; k++) {
    const float *mk = m + k * w;
    v8 acc[TILE] = {{0}};
    for (size_t q = 0; q < w8; q += 8) {
      const v8 mv = load8(mk + q);
      for (size_t t = 0; t < nt; t++) acc[t] += load8(rows + t * w + q) * mv;
    }
    for (size_t t = 0; t < nt; t++) {
      float d = sum8(acc[t]);
      for (size_t q = w8; q < w; q++) d += rows[t * w + q] * mk[q];
      dots[t * r + k] = d;
    }
  }
}

/*
 * The same for a full tile and four rows of m, k … k+3: sixteen sums held in registers, each load used four times.
 * Written out by hand, with each loaded vector pinned to a register (the empty asm statements): otherwise gcc
 * folds the loads into the multiply-adds and loads each vector four times (20 to 32 loads for 16 multiply-adds instead of 8; measured 26 GFLOP/s on one core, sgemm 65).
 */
static void dots_4x4(const float *rows, size_t w, const float *m, size_t r, size_t k, float *dots) {
  const size_t w8 = w & ~(size_t)7;
  const float *x0 = rows, *x1 = rows + w, *x2 = rows + 2 * w, *x3 = rows + 3 * w;
  const float *m0 = m + k * w, *m1 = m0 + w, *m2 = m1 + w, *m3 = m2 + w;
  v8 a00 = {0}, a01 = {0}, a02 = {0}, a03 = {0}, a10 = {0}, a11 = {0}, a12 = {0}, a13 = {0};
  v8 a20 = {0}, a21 = {0}, a22 = {0}, a23 = {0}, a30 = {0}, a31 = {0}, a32 = {0}, a33 = {0};
  for (size_t q = 0; q < w8; q += 8) {
    v8 b0 = load8(m0 + q), b1 = load8(m1 + q), b2 = load8(m2 + q), b3 = load8(m3 + q);
    PIN(b0);
    PIN(b1);
    PIN(b2);
    PIN(b3);
    v8 x = load8(x0 + q);
    PIN(x);
    a00 += x * b0, a01 += x * b1, a02 += x * b2, a03 += x * b3;
    x = load8(x1 + q);
    PIN(x);
    a10 += x * b0, a11 += x * b1, a12 += x * b2, a13 += x * b3;
    x = load8(x2 + q);
    PIN(x);
    a20 += x * b0, a21 += x * b1, a22 += x * b2, a23 += x * b3;
    x = load8(x3 + q);
    PIN(x);
    a30 += x * b0, a31 += x * b1, a32 += x * b2, a33 += x * b3;
  }
  const v8 acc[4][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}, {a30, a31, a32, a33}};
  for (size_t t = 0; t < 4; t++)
    for (size_t j = 0; j < 4; j++) {
      float d = sum8(acc[t][j]);
      for (size_t q = w8; q < w; q++) d += rows[t * w + q] * m[(k + j) * w + q];
      dots[t * r + k + j] = d;
    }
}

static void tile_dots(const float *rows, size_t nt, size_t w, const float *m, size_t r, float *dots) {
  size_t k = 0;
  if (nt == 4)
    for (; k + 4 <= r; k += 4) dots_4x4(rows, w, m, r, k, dots);
  dots_any(rows, nt, w, m, r, k, r, dots);
}

/* acc[k] += Σ_t coef[t·r + k]·rows[t] for the accumulator rows k0 ≤ k < k1 of acc [r, w]. */
static void axpy_any(const float *rows, size_t nt, size_t w, const float *coef, size_t r, size_t k0, size_t k1, float *acc) {
  const size_t w8 = w & ~(size_t)7;
  for (size_t k = k0; k < k1; k++) {
    float *ak = acc + k * w;
    float c[TILE];
    for (size_t t = 0; t < nt; t++) c[t] = coef[t * r + k];
    for (size_t q = 0; q < w8; q += 8) {
      v8 s = load8(ak + q);
      for (size_t t = 0; t < nt; t++) s += c[t] * load8(rows + t * w + q);
      store8(ak + q, s);
    }
    for (size_t q = w8; q < w; q++) {
      float s = ak[q];
      for (size_t t = 0; t < nt; t++) s += c[t] * rows[t * w + q];
      ak[q] = s;
    }
  }
}

/* The same for a full tile into accumulator rows k … k+3: each row of the tile is loaded once for four of them. */
static void axpy_4x4(const float *rows, size_t w, const float *coef, size_t r, size_t k, float *acc) {
  const size_t w8 = w & ~(size_t)7;
  float c[4][4];
  for (size_t t = 0; t < 4; t++)
    for (size_t j = 0; j < 4; j++) c[t][j] = coef[t * r + k + j];
  for (size_t q = 0; q < w8; q += 8) {
    v8 x[4];
    for (size_t t = 0; t < 4; t++) x[t] = load8(rows + t * w + q);
    for (size_t j = 0; j < 4; j++) {
      float *aj = acc + (k + j) * w + q;
      v8 s = load8(aj);
      for (size_t t = 0; t < 4; t++) s += c[t][j] * x[t];
      store8(aj, s);
    }
  }
  for (size_t j = 0; j < 4; j++)
    for (size_t q = w8; q < w; q++) {
      float s = acc[(k + j) * w + q];
      for (size_t t = 0; t < 4; t++) s += c[t][j] * rows[t * w + q];
      acc[(k + j) * w + q] = s;
    }
}

static void tile_axpy(const float *rows, size_t nt, size_t w, const float *coef, size_t r, float *acc) {
  size_t k = 0;
  if (nt == 4)
    for (; k + 4 <= r; k += 4) axpy_4x4(rows, w, coef, r, k, acc);
  axpy_any(rows, nt, w, coef, r, k, r, acc);
}

struct lora_ctx {
  size_t n, in, out, r;
  const float *x, *dy, *at, *b; /* at = Aᵀ [r, in] */
  float *part;                  /* per slice: dAᵀ [r, in], dB [r, out], u and v of one tile [TILE, r] each */
};

static size_t slice_floats(const struct lora_ctx *c) { return c->r * (c->in + c->out) + 2 * TILE * c->r; }

static void run_slices(void *p, size_t sb, size_t se) {
  const struct lora_ctx *c = p;
  const size_t n = c->n, in = c->in, out = c->out, r = c->r;
  for (size_t s = sb / UNITS; s < se / UNITS; s++) {
    float *dat = c->part + s * slice_floats(c), *db = dat + r * in, *u = db + r * out, *v = u + TILE * r;
    memset(dat, 0, sizeof(float) * r * (in + out));
    const size_t end = n * (s + 1) / LORA_SLICES;
    for (size_t i = n * s / LORA_SLICES; i < end; i += TILE) {
      const size_t nt = end - i < TILE ? end - i : TILE;
      const float *xt = c->x + i * in, *dyt = c->dy + i * out;
      tile_dots(xt, nt, in, c->at, r, v);  /* v = x·A */
      tile_dots(dyt, nt, out, c->b, r, u); /* u = dy·Bᵀ */
      tile_axpy(xt, nt, in, u, r, dat);    /* dAᵀ += uᵀ·x */
      tile_axpy(dyt, nt, out, v, r, db);   /* dB += vᵀ·dy */
    }
  }
}

int lora_grad(const float *x, const float *dy, const float *a, const float *b, size_t n, size_t in, size_t out,
              size_t r, float scale, float *da, float *db) {
  float *at = malloc(sizeof(float) * r * in);
  struct lora_ctx c = {n, in, out, r, x, dy, at, b, NULL};
  c.part = malloc(sizeof(float) * LORA_SLICES * slice_floats(&c));
  if (!at || !c.part) {
    free(at);
    free(c.part);
    return -1;
  }
  for (size_t p = 0; p < in; p++)
    for (size_t k = 0; k < r; k++) at[k * in + p] = a[p * r + k];
  parallel_for(LORA_SLICES * UNITS, UNITS, run_slices, &c);
  /* The slices in order, then the scale: dA = scale·(Σ dAᵀ)ᵀ, dB = scale·Σ dB. */
  for (size_t p = 0; p < in; p++)
    for (size_t k = 0; k < r; k++) {
      float s = 0.0f;
      for (size_t sl = 0; sl < LORA_SLICES; sl++) s += c.part[sl * slice_floats(&c) + k * in + p];
      da[p * r + k] = scale * s;
    }
  for (size_t j = 0; j < r * out; j++) {
    float s = 0.0f;
    for (size_t sl = 0; sl < LORA_SLICES; sl++) s += c.part[sl * slice_floats(&c) + r * in + j];
    db[j] = scale * s;
  }
  free(at);
  free(c.part);
  return 0;
}

/*
 * The fold row by row, wf[p] = w[p] + Σ_k (scale·a[p, k])·b[k] (r scaled additions of B's rows: in·out·r
 * multiply-adds, ~0.5 M for the course model's widest layer), then the product on the same route as every other
 * matrix product (product.c). As tfjs ops the fold is three kernels (A·B, the scale, the addition), each with an
 * [in, out] temporary.
 */
void lora_forward(const float *x, const float *w, const float *a, const float *b, size_t n, size_t in, size_t out,
                  size_t r, float scale, float *y, float *wf) {
  for (size_t p = 0; p < in; p++) {
    float *restrict row = wf + p * out;
    memcpy(row, w + p * out, sizeof(float) * out);
    for (size_t k = 0; k < r; k++) {
      const float c = scale * a[p * r + k];
      const float *restrict bk = b + k * out;
      for (size_t j = 0; j < out; j++) row[j] += c * bk[j];
    }
  }
  if (n > 0) product(n, out, in, 0, 0, x, wf, y);
}
