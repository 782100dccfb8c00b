// safetensors reader/writer (filled in with chapter 4).
export {};
