{
  "targets": [
    {
      "target_name": "tiaoyu_native",
      "sources": ["tiaoyu_native.c", "attention.c", "decode.c", "elementwise.c", "fused.c", "lora.c", "pool.c", "product.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-fopenmp-simd", "-march=native"],
      "libraries": ["-lopenblas", "-lm", "-lpthread"]
    }
  ]
}
