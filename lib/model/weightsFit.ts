/**
 * The one rule for weights read from a file before they go into a model: every weight the model has is there, with
 * the model's shape (and a float type), and nothing else is. Model folders (gpt2format.ts's loadWeights), training
 * checkpoints (lib/train/checkpoint.ts's assignWeights) and LoRA adapter files (lib/train/loraFiles.ts) all check
 * with it, before assigning anything, so a wrong file never half-loads and every loader explains it the same way:
 *
 *   runs/sft/step-200 does not fit the model (4 layers, nEmbd 128, vocabSize 6400): missing 1: lm_head.weight;
 *   mismatched 1: transformer.wte.weight: shape [512, 64] in the file, the model expects [6400, 128]
 */

/** A tensor as far as this rule looks at it: a tf.Tensor or tf.Variable, or a tensor read from safetensors. */
export interface ShapedTensor {
  readonly shape: readonly number[];
  /** tfjs's ("float32", "int32") or safetensors' ("F32", "F16", "BF16", "I64", …). */
  readonly dtype?: string;
}

/** The dtypes that load into a float32 weight: tfjs's float32, and safetensors' floats (converted on reading). */
const FLOAT_DTYPES = new Set(["float32", "F32", "F16", "BF16"]);

/** At most this many names of each kind in a message; the count says how many there are. */
const LISTED = 10;

function list(names: readonly string[], sep = ", "): string {
  return names.slice(0, LISTED).join(sep) + (names.length > LISTED ? `${sep}… ${names.length - LISTED} more` : "");
}

/**
 * Throws unless `given` (name → tensor, from a file) fits `expected` (the model's weights by the same names):
 * one error that starts with `where`, names the model (`model`, e.g. "4 layers, nEmbd 128, vocabSize 6400") and
 * lists what is missing, unexpected and mismatched (shape, or a non-float dtype).
 * @example checkWeightsFit(model.parameters(), ckpt.weights, "runs/sft/step-200")
 */
export function checkWeightsFit(
  expected: ReadonlyMap<string, ShapedTensor>,
  given: ReadonlyMap<string, ShapedTensor>,
  where: string,
  model?: string,
): void {
  const missing = [...expected.keys()].filter((n) => !given.has(n));
  const unexpected = [...given.keys()].filter((n) => !expected.has(n));
  const mismatched: string[] = [];
  for (const [name, v] of expected) {
    const t = given.get(name);
    if (!t) continue;
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      mismatched.push(`${name}: shape [${t.shape.join(", ")}] in the file, the model expects [${v.shape.join(", ")}]`);
    } else if (t.dtype !== undefined && !FLOAT_DTYPES.has(t.dtype)) {
      mismatched.push(`${name}: dtype ${t.dtype}, the model expects a float (F32, F16 or BF16)`);
    }
  }
  if (!missing.length && !unexpected.length && !mismatched.length) return;
  const parts = [
    missing.length ? `missing ${missing.length}: ${list(missing)}` : "",
    unexpected.length ? `unexpected ${unexpected.length}: ${list(unexpected)}` : "",
    mismatched.length ? `mismatched ${mismatched.length}: ${list(mismatched, "; ")}` : "",
  ].filter(Boolean);
  throw new Error(`${where} does not fit the model${model ? ` (${model})` : ""}: ${parts.join("; ")}`);
}
