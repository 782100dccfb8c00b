// Re-exports of lib/train: the one training loop and what it is made of (chapter 5), reused by every later stage.
export * from "./rng";
export * from "./schedule";
export * from "./optimizer";
export * from "./checkpoint";
export * from "./progress";
export * from "./loop";
export * from "./tokens";
export * from "./pretrain";
export * from "./stages";
export * from "./distill"; export * from "./reasoning"; // chapters 9 and 10: knowledge distillation, reasoning-model training
export * from "./chat";
export * from "./solitaire";
export * from "./rlhf"; export * from "./reward"; export * from "./dpo"; export * from "./grpo"; // chapter 7: reward model, DPO, GRPO
export * from "./lora";
export * from "./sft";
