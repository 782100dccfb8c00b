// Re-exports of lib/eval: how the chapters measure their models (the stages that train them are in lib/train).
export * from "./wordChain";     // chapter 5: 词语接龙 on famous first lines
export * from "./qa";            // chapters 6, 8, 9: question–answer accuracy by template
export * from "./replies";       // chapter 7: SFT vs aligned models, exact match and reward, win rates
export * from "./distillation";  // chapter 9: teacher and students side by side
export * from "./reasoning";     // chapter 10: accuracy and <think> format compliance
