// Re-exports of lib/train: the one training loop (chapter 5) and the stages that reuse it.
// Chapter 5 — the loop and what it is made of, pretraining, 词语接龙
export * from "./schedule";
export * from "./optimizer";
export * from "./checkpoint";
export * from "./progress";
export * from "./loop";
export * from "./sampler";
export * from "./registry";
export * from "./handoff";
export * from "./tokens";
export * from "./mixture";
export * from "./pretrain";
export * from "./anneal";
// Chapter 6 — supervised fine-tuning in the chat format
export * from "./chat";
export * from "./sft";
// Chapter 7 — RLHF: reward model, DPO, GRPO
export * from "./rlhf";
export * from "./reward";
export * from "./dpo";
export * from "./grpo";
// Chapter 8 — LoRA
export * from "./lora";
// Chapters 9 and 10 — knowledge distillation, reasoning-model training
export * from "./distill";
export * from "./reasoning";
