// Chapters 3–4: the TIAOYU model, in reading order (config → embedding → positions → attention → MLP → norm →
// block → model), plus its key/value cache and checkpoints.
export * from "./config";
export * from "./params";
export * from "./embedding";
export * from "./dropout";
export * from "./position";
export * from "./linear";
export * from "./kvcache";
export * from "./attention";
export * from "./mlp";
export * from "./norm";
export * from "./block";
export * from "./gpt";
export * from "./gpt2format";
export * from "./weightsFit";
