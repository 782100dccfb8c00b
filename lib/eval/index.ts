// Re-exports of lib/eval: how the chapters measure their models, and how sure each number is (the stages that train them are in lib/train).
export * from "./stats"; // Wilson intervals, base rates, the "no difference" rule
export * from "./nextToken"; // chapter 5: top-1/top-5 next-token accuracy vs unigram and bigram baselines
export * from "./poemForm";  // chapter 5: line lengths, couplets and rhyme of generated poems vs the corpus
export * from "./pretrained"; // chapter 5: the report of a pretrained model (next-token accuracy, form of generations)
export * from "./recall";     // chapter 5: what the base model recalls of the anthology: next line, poet and title
export * from "./wordChain";     // chapter 5: 词语接龙 on famous first lines
export * from "./qa";            // chapters 6, 8, 9: question–answer accuracy by template
export * from "./replies";       // chapter 7: SFT vs aligned models, exact match and reward, win rates
export * from "./distillation";  // chapter 9: teacher and students side by side
export * from "./reasoning";     // chapter 10: accuracy and <think> format compliance
export * from "./runSummary";       // chapter 8: what a run folder says about its training
export * from "./flaws";          // chapter 7: flaw rates, facts, reward, KL and length of replies
