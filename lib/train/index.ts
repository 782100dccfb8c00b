// Re-exports of lib/train: the one training loop (chapter 5) and the stages that reuse it.
// Chapter 5 — the loop and what it is made of, pretraining, 词语接龙
export * from "./schedule";
export * from "./optimizer";
export * from "./checkpoint";
export * from "./progress";
export * from "./loop";
export * from "./stageCurves";
export * from "./sampler";
export * from "./registry";
export * from "./handoff";
export * from "./shipped";
export * from "./tokens";
export * from "./blocks";
export * from "./mixture";
export * from "./pretrain";
export * from "./anneal";
// Chapter 6 — supervised fine-tuning in the chat format
export * from "./chat";
export * from "./chatData";
export * from "./sft";
export * from "./selfAnswers"; // the base's own answers to next-line questions: copy practice without new facts
export * from "./flawedSft"; // chapter 7: chapter 6's SFT on data with a share of flawed answers
// Chapter 7 — RLHF: reward model, DPO, GRPO
export * from "./logprobs";
export * from "./preferencePairs";
export * from "./sampledPairs"; // the SFT model's own flawed answers as rejected ones
export * from "./rewardModel";
export * from "./reward";
export * from "./referenceLogProbs";
export * from "./dpo";
export * from "./rollouts";
export * from "./grpo";
export * from "./rlhfData"; // chapter 7: the flawed SFT's questions, its preference pairs and the held-out prompts of the table
// Chapter 8 — LoRA
export * from "./tokenRows";
export * from "./lora";
export * from "./loraFiles";
// Chapters 9 and 10 — knowledge distillation, reasoning-model training
export * from "./distill";
export * from "./distillPrompts";
export * from "./students";
export * from "./reasoning";
export * from "./reasoningReward";
export * from "./reasoningGrpo";
