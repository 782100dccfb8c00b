/**
 * `Identity` and same-dtype `Cast` on wasm without copying.
 *
 * tfjs tensors are immutable, so a copy of one may share its memory: the cpu backend's Identity, and wasm's own
 * Reshape, only count one more reference to the same buffer. wasm's Identity and Cast instead allocate and copy,
 * and a GPT training step calls them a few hundred times (gradients clone `dy`, casts to float32 of tensors that
 * already are float32, tf.clone in broadcastTo …). Here both share the buffer, as cpu does.
 *
 * Also fixed on the way: wasm 4.22 casts to bool by copying into bytes, so −2.2 becomes 254 instead of true (1).
 * Here any non-zero value is 1, as on cpu and in TensorFlow.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs";
import { makeOutput, values } from "./memory";

function share(backend: KernelBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/** Our Identity and Cast for wasm, each falling back to the backend's own (strings, real conversions). */
export function wasmIdentityConfigs(): KernelConfig[] {
  const configs: KernelConfig[] = [];
  const identity = tf.getKernel("Identity", "wasm");
  if (identity) {
    const kernelFunc: KernelFunc = (args) => {
      const x = args.inputs.x as TensorInfo;
      return x.dtype === "string" ? identity.kernelFunc(args) : share(args.backend as KernelBackend, x);
    };
    configs.push({ ...identity, kernelFunc });
  }
  const cast = tf.getKernel("Cast", "wasm");
  if (cast) {
    const kernelFunc: KernelFunc = (args) => {
      const x = args.inputs.x as TensorInfo;
      const dtype = (args.attrs as { dtype: string }).dtype;
      const backend = args.backend as KernelBackend;
      if (x.dtype === "string" || dtype === "string" || dtype === "complex64") return cast.kernelFunc(args);
      if (x.dtype === dtype) return share(backend, x);
      if (dtype === "bool") {
        return makeOutput(backend, [...x.shape], "bool", (out) => {
          const xs = values(backend, x);
          for (let i = 0; i < xs.length; i++) out[i] = xs[i] !== 0 ? 1 : 0;
        });
      }
      return cast.kernelFunc(args);
    };
    configs.push({ ...cast, kernelFunc });
  }
  return configs;
}
