/*
 * TIAOYU's optional native kernels: float32 matrix products through the system's OpenBLAS, computed in place on
 * the memory of tfjs-backend-wasm's WebAssembly heap.
 *
 * Why: tfjs-backend-wasm multiplies matrices fast (XNNPACK, ~20 GFLOP/s) only without transposes and with a batch
 * of 1, and runs on one thread under Node. OpenBLAS's sgemm reaches ~85 GFLOP/s on one core of a laptop-class
 * CPU and uses the others too. The wasm heap is an ordinary ArrayBuffer to Node, so its bytes can be handed to
 * sgemm directly: no copy in, no copy out.
 *
 * JS side: lib/kernels/native.ts loads this module (when it was built at install) and lib/kernels/matmul.ts calls
 * it. Build: `node lib/native/build.js` (run by `npm install`); a failed build only means the slower fallback.
 */
#include <node_api.h>
#include <stdint.h>
#include <stddef.h>

#include "attention.h"
#include "decode.h"
#include "elementwise.h"
#include "fused.h"
#include "lora.h"
#include "pool.h"
#include "product.h"

/* Declared here rather than through cblas.h, whose location and contents differ between distributions. */
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "tiaoyu_native: N-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/*
 * The first two arguments of sgemm and decode: the heap (an ArrayBuffer) and a Float64Array of numbers. Throws a
 * TypeError saying `what` and returns false when either is something else.
 */
static bool heap_and_doubles(napi_env env, napi_value heap_v, napi_value doubles_v, const char *what, void **heap,
                             size_t *heap_bytes, const double **doubles, size_t *count) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, heap_v, heap, heap_bytes) != napi_ok ||
      napi_get_typedarray_info(env, doubles_v, &type, count, &data, NULL, NULL) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, what);
    return false;
  }
  *doubles = (const double *)data;
  return true;
}

/*
 * sgemm(heap: ArrayBuffer, offsets: Float64Array, m, n, k, transA, transB): for each batch i,
 *   C_i[m, n] = op(A_i) · op(B_i), with op(X) = X or Xᵀ,
 * where A_i, B_i, C_i start at byte offsets offsets[3i], offsets[3i + 1], offsets[3i + 2] of heap and are dense
 * row-major: A_i is [m, k] ([k, m] when transA), B_i is [k, n] ([n, k] when transB), C_i is [m, n].
 * Every block is checked to lie inside the heap, so a wrong offset throws instead of corrupting memory.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 7) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.sgemm: expected 7 arguments");
    return NULL;
  }
  static const char *const offsets_error = "tiaoyu_native.sgemm: offsets must be a Float64Array of 3 per batch";
  void *heap = NULL;
  size_t heap_bytes = 0, count = 0;
  const double *offsets = NULL;
  if (!heap_and_doubles(env, argv[0], argv[1], offsets_error, &heap, &heap_bytes, &offsets, &count)) return NULL;
  if (count % 3 != 0) {
    napi_throw_type_error(env, NULL, offsets_error);
    return NULL;
  }

  int64_t m, n, k;
  bool trans_a, trans_b;
  if (!get_int(env, argv[2], &m) || !get_int(env, argv[3], &n) || !get_int(env, argv[4], &k)) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.sgemm: m, n, k must be numbers");
    return NULL;
  }
  CHECK(napi_get_value_bool(env, argv[5], &trans_a));
  CHECK(napi_get_value_bool(env, argv[6], &trans_b));
  if (m <= 0 || n <= 0 || k < 0 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
    napi_throw_range_error(env, NULL, "tiaoyu_native.sgemm: sizes out of range");
    return NULL;
  }
  const uint64_t a_bytes = (uint64_t)m * (uint64_t)k * 4, b_bytes = (uint64_t)k * (uint64_t)n * 4,
                 c_bytes = (uint64_t)m * (uint64_t)n * 4;
  const size_t batches = count / 3;
  for (size_t i = 0; i < batches; i++) {
    const double oa = offsets[3 * i], ob = offsets[3 * i + 1], oc = offsets[3 * i + 2];
    if (oa < 0 || ob < 0 || oc < 0 || oa + a_bytes > heap_bytes || ob + b_bytes > heap_bytes ||
        oc + c_bytes > heap_bytes || ((uint64_t)oa | (uint64_t)ob | (uint64_t)oc) % 4 != 0) {
      napi_throw_range_error(env, NULL, "tiaoyu_native.sgemm: a block lies outside the heap or is misaligned");
      return NULL;
    }
  }
  for (size_t i = 0; i < batches; i++) {
    const float *a = (const float *)((char *)heap + (uint64_t)offsets[3 * i]);
    const float *b = (const float *)((char *)heap + (uint64_t)offsets[3 * i + 1]);
    float *c = (float *)((char *)heap + (uint64_t)offsets[3 * i + 2]);
    if (k == 0) {
      for (int64_t j = 0; j < m * n; j++) c[j] = 0.0f;  /* sgemm with k = 0 leaves C alone; we want zeros */
      continue;
    }
    product((size_t)m, (size_t)n, (size_t)k, trans_a, trans_b, a, b, c); /* OpenBLAS, or product.c's loops for few rows */
  }
  return NULL;
}

/* Reads argv[i] as a byte offset of a float32 block of `count` floats inside the heap; NULL (and throws) if not. */
static float *heap_floats(napi_env env, void *heap, size_t heap_bytes, napi_value v, uint64_t count) {
  double off = 0;
  if (napi_get_value_double(env, v, &off) != napi_ok || off < 0 || (uint64_t)off % 4 != 0 ||
      (uint64_t)off + 4 * count > heap_bytes) {
    napi_throw_range_error(env, NULL, "tiaoyu_native: a block lies outside the heap or is misaligned");
    return NULL;
  }
  return (float *)((char *)heap + (uint64_t)off);
}

/* unary(heap, op, xOffset, yOffset, n, param): y[i] = op(x[i]), ops as in elementwise.h. */
static napi_value unary_js(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 6) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.unary: expected 6 arguments");
    return NULL;
  }
  void *heap = NULL;
  size_t heap_bytes = 0;
  int64_t op = 0, n = 0;
  double param = 0;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes));
  if (!get_int(env, argv[1], &op) || !get_int(env, argv[4], &n) || n < 0 ||
      napi_get_value_double(env, argv[5], &param) != napi_ok) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.unary: op, n and param must be numbers");
    return NULL;
  }
  const float *x = heap_floats(env, heap, heap_bytes, argv[2], (uint64_t)n);
  if (!x) return NULL;
  float *y = heap_floats(env, heap, heap_bytes, argv[3], (uint64_t)n);
  if (!y) return NULL;
  if (unary((int)op, x, y, (size_t)n, (float)param) != 0) {
    napi_throw_range_error(env, NULL, "tiaoyu_native.unary: unknown op");
  }
  return NULL;
}

/* Reads the numbers argv[0..count) into out; throws and returns 0 if one is not a number. */
static int get_doubles(napi_env env, napi_value *argv, size_t count, double *out) {
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_double(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "tiaoyu_native: expected numbers");
      return 0;
    }
  }
  return 1;
}

/* A float32 (or int32) block at byte offset `off` of `count` elements; off < 0 means none (NULL, no error). */
static void *block(napi_env env, void *heap, size_t heap_bytes, double off, double count, int *ok) {
  if (off < 0) return NULL;
  if (count < 0 || (uint64_t)off % 4 != 0 || (uint64_t)off + 4 * (uint64_t)count > heap_bytes) {
    if (*ok) napi_throw_range_error(env, NULL, "tiaoyu_native: a block lies outside the heap or is misaligned");
    *ok = 0;
    return NULL;
  }
  return (char *)heap + (uint64_t)off;
}

/*
 * fused(heap, kernel, ...numbers): the fused kernels of fused.h; offsets are byte offsets into heap, -1 = none.
 *   0 geluForward(x, y, n)                   1 geluBackward(x, dy, dx, n)
 *   2 layerNormForward(x, gamma, beta, y, mean, rstd, rows, d, eps)
 *   3 layerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, d)
 *   4 xentForward(logits, targets, nll, lse, rows, v) → the first row with a bad target, or -1
 *   5 xentBackward(logits, targets, lse, dnll, dlogits, rows, v)
 *   6 dropout(x, y, n, rate, seed)
 *   7 adamw(w, g, m, v, w2, m2, v2, n, lr, beta1, beta2, eps, decayFactor, bc1, bc2Sqrt, gradScale)
 *   8 attentionForward(q, k, v, out, probs, heads, t, s, hs, offset, scale, rate, seed)
 *   9 attentionBackward(q, k, v, probs, dout, dq, dk, dv, heads, t, s, hs, offset, scale, rate, seed)
 *  10 columnSum(x, y, rows, cols)
 *  11 loraGrad(x, dy, a, b, da, db, n, in, out, r, scale)
 *  12 loraForward(x, w, a, b, y, wf, n, in, out, r, scale)
 */
static napi_value fused_js(napi_env env, napi_callback_info info) {
  size_t argc = 20;
  napi_value argv[20];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *heap = NULL;
  size_t heap_bytes = 0;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.fused: expected heap, kernel, arguments");
    return NULL;
  }
  CHECK(napi_get_arraybuffer_info(env, argv[0], &heap, &heap_bytes));
  double a[18] = {0};
  const size_t nargs = argc - 2 > 18 ? 18 : argc - 2;
  int64_t kernel = -1;
  if (!get_int(env, argv[1], &kernel) || !get_doubles(env, argv + 2, nargs, a)) return NULL;
  static const size_t expected[] = {3, 4, 9, 10, 6, 7, 5, 16, 13, 16, 4, 11, 11};
  if (kernel < 0 || kernel > 12 || nargs != expected[kernel]) {
    napi_throw_range_error(env, NULL, "tiaoyu_native.fused: unknown kernel or wrong number of arguments");
    return NULL;
  }
  int ok = 1;
  napi_value result = NULL;
  switch (kernel) {
    case 0: {
      const float *x = block(env, heap, heap_bytes, a[0], a[2], &ok);
      float *y = block(env, heap, heap_bytes, a[1], a[2], &ok);
      if (ok && x && y) gelu_forward(x, y, (size_t)a[2]);
      break;
    }
    case 1: {
      const float *x = block(env, heap, heap_bytes, a[0], a[3], &ok);
      const float *dy = block(env, heap, heap_bytes, a[1], a[3], &ok);
      float *dx = block(env, heap, heap_bytes, a[2], a[3], &ok);
      if (ok && x && dy && dx) gelu_backward(x, dy, dx, (size_t)a[3]);
      break;
    }
    case 2: {
      const double rows = a[6], d = a[7];
      const float *x = block(env, heap, heap_bytes, a[0], rows * d, &ok);
      const float *gamma = block(env, heap, heap_bytes, a[1], d, &ok);
      const float *beta = block(env, heap, heap_bytes, a[2], d, &ok);
      float *y = block(env, heap, heap_bytes, a[3], rows * d, &ok);
      float *mean = block(env, heap, heap_bytes, a[4], rows, &ok);
      float *rstd = block(env, heap, heap_bytes, a[5], rows, &ok);
      if (ok && x && gamma && y && mean && rstd) layernorm_forward(x, gamma, beta, (float)a[8], (size_t)rows, (size_t)d, y, mean, rstd);
      break;
    }
    case 3: {
      const double rows = a[8], d = a[9];
      const float *x = block(env, heap, heap_bytes, a[0], rows * d, &ok);
      const float *gamma = block(env, heap, heap_bytes, a[1], d, &ok);
      const float *mean = block(env, heap, heap_bytes, a[2], rows, &ok);
      const float *rstd = block(env, heap, heap_bytes, a[3], rows, &ok);
      const float *dy = block(env, heap, heap_bytes, a[4], rows * d, &ok);
      float *dx = block(env, heap, heap_bytes, a[5], rows * d, &ok);
      float *dgamma = block(env, heap, heap_bytes, a[6], d, &ok);
      float *dbeta = block(env, heap, heap_bytes, a[7], d, &ok);
      if (ok && x && gamma && mean && rstd && dy && dx && dgamma)
        layernorm_backward(x, gamma, mean, rstd, dy, (size_t)rows, (size_t)d, dx, dgamma, dbeta);
      break;
    }
    case 4: {
      const double rows = a[4], v = a[5];
      const float *logits = block(env, heap, heap_bytes, a[0], rows * v, &ok);
      const int32_t *targets = block(env, heap, heap_bytes, a[1], rows, &ok);
      float *nll = block(env, heap, heap_bytes, a[2], rows, &ok);
      float *lse = block(env, heap, heap_bytes, a[3], rows, &ok);
      if (ok && logits && targets && nll && lse) {
        long bad = xent_forward(logits, targets, (size_t)rows, (size_t)v, nll, lse);
        CHECK(napi_create_double(env, (double)bad, &result));
      }
      break;
    }
    case 5: {
      const double rows = a[5], v = a[6];
      const float *logits = block(env, heap, heap_bytes, a[0], rows * v, &ok);
      const int32_t *targets = block(env, heap, heap_bytes, a[1], rows, &ok);
      const float *lse = block(env, heap, heap_bytes, a[2], rows, &ok);
      const float *dnll = block(env, heap, heap_bytes, a[3], rows, &ok);
      float *dlogits = block(env, heap, heap_bytes, a[4], rows * v, &ok);
      if (ok && logits && targets && lse && dnll && dlogits) xent_backward(logits, targets, lse, dnll, (size_t)rows, (size_t)v, dlogits);
      break;
    }
    case 6: {
      const float *x = block(env, heap, heap_bytes, a[0], a[2], &ok);
      float *y = block(env, heap, heap_bytes, a[1], a[2], &ok);
      if (ok && x && y) dropout_apply(x, y, (size_t)a[2], (float)a[3], (uint32_t)(uint64_t)a[4]);
      break;
    }
    case 7: {
      const double n = a[7];
      const float *w = block(env, heap, heap_bytes, a[0], n, &ok);
      const float *g = block(env, heap, heap_bytes, a[1], n, &ok);
      const float *m = block(env, heap, heap_bytes, a[2], n, &ok);
      const float *v = block(env, heap, heap_bytes, a[3], n, &ok);
      float *w2 = block(env, heap, heap_bytes, a[4], n, &ok);
      float *m2 = block(env, heap, heap_bytes, a[5], n, &ok);
      float *v2 = block(env, heap, heap_bytes, a[6], n, &ok);
      const struct adamw_params p = {(float)a[8],  (float)a[9],  (float)a[10], (float)a[11],        (float)a[12],
                                     (float)a[13], (float)a[14], (float)a[15], (float)(1.0 - a[9]), (float)(1.0 - a[10])};
      if (ok && w && g && m && v && w2 && m2 && v2) adamw_step(w, g, m, v, (size_t)n, &p, w2, m2, v2);
      break;
    }
    case 10: {
      const float *x = block(env, heap, heap_bytes, a[0], a[2] * a[3], &ok);
      float *y = block(env, heap, heap_bytes, a[1], a[3], &ok);
      if (ok && x && y) column_sum(x, (size_t)a[2], (size_t)a[3], y);
      break;
    }
    case 12: {
      const double n = a[6], in = a[7], out = a[8], r = a[9];
      if (!(n >= 0 && in >= 1 && out >= 1 && r >= 1)) {
        napi_throw_range_error(env, NULL, "tiaoyu_native.fused: loraForward sizes out of range");
        return NULL;
      }
      const float *x = block(env, heap, heap_bytes, a[0], n * in, &ok);
      const float *w = block(env, heap, heap_bytes, a[1], in * out, &ok);
      const float *la = block(env, heap, heap_bytes, a[2], in * r, &ok);
      const float *lb = block(env, heap, heap_bytes, a[3], r * out, &ok);
      float *y = block(env, heap, heap_bytes, a[4], n * out, &ok);
      float *wf = block(env, heap, heap_bytes, a[5], in * out, &ok);
      if (ok && x && w && la && lb && y && wf) lora_forward(x, w, la, lb, (size_t)n, (size_t)in, (size_t)out, (size_t)r, (float)a[10], y, wf);
      break;
    }
    case 11: {
      const double n = a[6], in = a[7], out = a[8], r = a[9];
      if (!(n >= 0 && in >= 1 && out >= 1 && r >= 1)) {
        napi_throw_range_error(env, NULL, "tiaoyu_native.fused: loraGrad sizes out of range");
        return NULL;
      }
      const float *x = block(env, heap, heap_bytes, a[0], n * in, &ok);
      const float *dy = block(env, heap, heap_bytes, a[1], n * out, &ok);
      const float *la = block(env, heap, heap_bytes, a[2], in * r, &ok);
      const float *lb = block(env, heap, heap_bytes, a[3], r * out, &ok);
      float *da = block(env, heap, heap_bytes, a[4], in * r, &ok);
      float *db = block(env, heap, heap_bytes, a[5], r * out, &ok);
      if (ok && x && dy && la && lb && da && db &&
          lora_grad(x, dy, la, lb, (size_t)n, (size_t)in, (size_t)out, (size_t)r, (float)a[10], da, db) != 0)
        napi_throw_error(env, NULL, "tiaoyu_native.fused: loraGrad out of memory");
      break;
    }
    case 8:
    case 9: {
      const double *d = kernel == 8 ? a + 5 : a + 8; /* heads, t, s, hs, offset, scale, rate, seed */
      const struct attention_shape sh = {(size_t)d[0], (size_t)d[1], (size_t)d[2], (size_t)d[3], (size_t)d[4],
                                         (float)d[5], (float)d[6], (uint32_t)(uint64_t)d[7]};
      if (sh.s < sh.offset + sh.t || sh.hs == 0 || !(sh.rate >= 0.0f && sh.rate < 1.0f)) {
        napi_throw_range_error(env, NULL, "tiaoyu_native.fused: attention shapes disagree");
        return NULL;
      }
      const double nq = d[0] * d[1] * d[3], nk = d[0] * d[2] * d[3], np = d[0] * d[1] * d[2];
      const float *q = block(env, heap, heap_bytes, a[0], nq, &ok);
      const float *k = block(env, heap, heap_bytes, a[1], nk, &ok);
      const float *v = block(env, heap, heap_bytes, a[2], nk, &ok);
      if (kernel == 8) {
        float *out = block(env, heap, heap_bytes, a[3], nq, &ok);
        float *probs = block(env, heap, heap_bytes, a[4], np, &ok);
        if (ok && q && k && v && out && probs) attention_forward(&sh, q, k, v, out, probs);
      } else {
        const float *probs = block(env, heap, heap_bytes, a[3], np, &ok);
        const float *dout = block(env, heap, heap_bytes, a[4], nq, &ok);
        float *dq = block(env, heap, heap_bytes, a[5], nq, &ok);
        float *dk = block(env, heap, heap_bytes, a[6], nk, &ok);
        float *dv = block(env, heap, heap_bytes, a[7], nk, &ok);
        if (ok && q && k && v && probs && dout && dq && dk && dv) attention_backward(&sh, q, k, v, probs, dout, dq, dk, dv);
      }
      break;
    }
  }
  return result; /* NULL: undefined to JavaScript (or the exception thrown above) */
}

/*
 * decode(heap, layout: Float64Array): one generation step of a GPT through its key/value cache (decode.h). layout:
 *   [0] batch  [1] pos  [2] nLayer  [3] nHead  [4] d  [5] hidden  [6] vocab  [7] cap  [8] eps
 *   [9] wte  [10] wpe  [11] lnf_g  [12] lnf_b  [13] head  [14] logits           (byte offsets into heap, -1 = none)
 *   then per layer 14 offsets: ln1_g ln1_b attn_w attn_b attn_proj_w attn_proj_b ln2_g ln2_b fc_w fc_b mlp_proj_w
 *   mlp_proj_b k_cache v_cache; then the batch's token ids.
 * Every block is checked to lie inside the heap and every id to be in the vocabulary, so a wrong layout throws.
 */
#define DECODE_HEADER 15
#define DECODE_PER_LAYER 14
static napi_value decode_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 2) {
    napi_throw_type_error(env, NULL, "tiaoyu_native.decode: expected heap and layout");
    return NULL;
  }
  static const char *const layout_error = "tiaoyu_native.decode: layout must be a Float64Array (see tiaoyu_native.c)";
  void *heap = NULL;
  size_t heap_bytes = 0, count = 0;
  const double *a = NULL;
  if (!heap_and_doubles(env, argv[0], argv[1], layout_error, &heap, &heap_bytes, &a, &count)) return NULL;
  if (count < DECODE_HEADER) {
    napi_throw_type_error(env, NULL, layout_error);
    return NULL;
  }
  const double B = a[0], pos = a[1], L = a[2], nh = a[3], D = a[4], H = a[5], V = a[6], cap = a[7];
  if (!(B >= 1 && L >= 1 && nh >= 1 && D >= 1 && H >= 1 && V >= 1 && cap >= 1 && pos >= 0 && pos < cap && B <= 1 << 20 &&
        D <= 1 << 20 && H <= 1 << 22 && V <= 1 << 24 && cap <= 1 << 20 && L <= 1 << 12 && nh <= D) ||
      (size_t)D % (size_t)nh != 0 || count != DECODE_HEADER + (size_t)L * DECODE_PER_LAYER + (size_t)B) {
    napi_throw_range_error(env, NULL, "tiaoyu_native.decode: sizes out of range or layout of the wrong length");
    return NULL;
  }
  int ok = 1;
  struct decode_model m = {(size_t)B, (size_t)pos, (size_t)L, (size_t)nh, (size_t)D, (size_t)H, (size_t)V, (size_t)cap,
                           (float)a[8], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  m.wte = block(env, heap, heap_bytes, a[9], V * D, &ok);
  m.wpe = block(env, heap, heap_bytes, a[10], cap * D, &ok);
  m.lnf_g = block(env, heap, heap_bytes, a[11], D, &ok);
  m.lnf_b = block(env, heap, heap_bytes, a[12], D, &ok);
  m.head = block(env, heap, heap_bytes, a[13], V * D, &ok);
  m.logits = block(env, heap, heap_bytes, a[14], B * V, &ok);
  if (!ok) return NULL;
  if (!m.wte || !m.lnf_g || !m.head || !m.logits) {
    napi_throw_range_error(env, NULL, "tiaoyu_native.decode: wte, lnf_g, head and logits are required");
    return NULL;
  }
  struct decode_layer *layers = calloc((size_t)L, sizeof *layers);
  int32_t *ids = malloc((size_t)B * sizeof *ids);
  if (!layers || !ids) {
    free(layers);
    free(ids);
    napi_throw_error(env, NULL, "tiaoyu_native.decode: out of memory");
    return NULL;
  }
  const double kv = B * nh * cap * (D / nh);
  for (size_t l = 0; l < (size_t)L && ok; l++) {
    const double *o = a + DECODE_HEADER + l * DECODE_PER_LAYER;
    struct decode_layer *y = &layers[l];
    y->ln1_g = block(env, heap, heap_bytes, o[0], D, &ok);
    y->ln1_b = block(env, heap, heap_bytes, o[1], D, &ok);
    y->attn_w = block(env, heap, heap_bytes, o[2], D * 3 * D, &ok);
    y->attn_b = block(env, heap, heap_bytes, o[3], 3 * D, &ok);
    y->attn_proj_w = block(env, heap, heap_bytes, o[4], D * D, &ok);
    y->attn_proj_b = block(env, heap, heap_bytes, o[5], D, &ok);
    y->ln2_g = block(env, heap, heap_bytes, o[6], D, &ok);
    y->ln2_b = block(env, heap, heap_bytes, o[7], D, &ok);
    y->fc_w = block(env, heap, heap_bytes, o[8], D * H, &ok);
    y->fc_b = block(env, heap, heap_bytes, o[9], H, &ok);
    y->mlp_proj_w = block(env, heap, heap_bytes, o[10], H * D, &ok);
    y->mlp_proj_b = block(env, heap, heap_bytes, o[11], D, &ok);
    y->k_cache = block(env, heap, heap_bytes, o[12], kv, &ok);
    y->v_cache = block(env, heap, heap_bytes, o[13], kv, &ok);
    if (ok && (!y->ln1_g || !y->attn_w || !y->attn_proj_w || !y->ln2_g || !y->fc_w || !y->mlp_proj_w || !y->k_cache ||
               !y->v_cache)) {
      napi_throw_range_error(env, NULL, "tiaoyu_native.decode: a layer lacks a required weight or cache");
      ok = 0;
    }
  }
  const double *id = a + DECODE_HEADER + (size_t)L * DECODE_PER_LAYER;
  for (size_t b = 0; b < (size_t)B && ok; b++) {
    if (!(id[b] >= 0 && id[b] < V && id[b] == (double)(int32_t)id[b])) {
      napi_throw_range_error(env, NULL, "tiaoyu_native.decode: a token id is outside the vocabulary");
      ok = 0;
    }
    ids[b] = (int32_t)id[b];
  }
  if (ok) {
    m.ids = ids;
    m.layers = layers;
    if (decode_step(&m) != 0) napi_throw_error(env, NULL, "tiaoyu_native.decode: out of memory");
  }
  free(layers);
  free(ids);
  return NULL;
}

/* setThreads(n): how many threads OpenBLAS and our elementwise kernels may use; returns the number in effect. */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc == 1 && get_int(env, argv[0], &n) && n > 0) {
    openblas_set_num_threads((int)n);
    pool_set_threads((int)n);
  }
  napi_value result;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, unary_js, NULL, NULL, NULL, napi_default, NULL},
      {"fused", NULL, fused_js, NULL, NULL, NULL, napi_default, NULL},
      {"decode", NULL, decode_js, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
