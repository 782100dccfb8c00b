{
  "targets": [
    {
      "target_name": "tiaoyu_native",
      "sources": ["tiaoyu_native.c"],
      "cflags": ["-O2", "-std=c11"],
      "libraries": ["-lopenblas"]
    }
  ]
}
