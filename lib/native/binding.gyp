{
  "targets": [
    {
      "target_name": "tiaoyu_native",
      "sources": ["tiaoyu_native.c", "elementwise.c", "pool.c"],
      "cflags": ["-O3", "-std=gnu11", "-fno-math-errno", "-march=native"],
      "libraries": ["-lopenblas", "-lm", "-lpthread"]
    }
  ]
}
