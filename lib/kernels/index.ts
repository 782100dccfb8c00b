// Re-exports of lib/kernels: registering our kernels with the wasm and cpu backends (register.ts), and the fused
// operations the model calls directly.
export * from "./register";
export { causalAttention } from "./attention";
export { adamwUpdate, type AdamWStep, dropout, geluTanh, layerNorm, softmaxCrossEntropy } from "./fused";
