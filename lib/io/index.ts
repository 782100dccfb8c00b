// Files that must never be left half-written: atomic writes, and the safetensors checkpoint format.
export * from "./atomic";
export * from "./safetensors";
