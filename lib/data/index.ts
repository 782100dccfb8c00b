// Chapter 1 (数据收集与处理): the poetry corpus, cleaned, deduplicated and split into JSONL samples.
export * from "./poetry";    // reading the collections of chinese-poetry
export * from "./convert";   // traditional → simplified, variant characters
export * from "./clean";     // the cleaning rules
export * from "./form";      // 五言/七言, 绝句/律诗 from the shape of the lines
export * from "./dedup";     // exact and near-duplicate removal (MinHash + LSH)
export * from "./hash";      // FNV-1a and a bit mixer: stable numbers from text
export * from "./split";     // deterministic train/validation/test split by hash
export * from "./sample";    // the sample format {"text": "<s>…</s>"}
export * from "./jsonl";     // streaming JSONL reader and atomic writer
export * from "./pipeline";  // the whole pipeline, ensureCorpus, readPoems
export * from "./stats";     // statistics with danfojs for tables and charts
export * from "./reasoning"; // chapter 10: reasoning questions with verifiable traces
export * from "./rhyme";     // chapter 10: pinyin finals and 中华新韵 rhyme groups (pinyin-pro)
export * from "./qa";      // question–answer pairs for SFT (chapter 6), generated from the poems
export * from "./anthologyQa"; // chapter 6: questions, line by line, about the 唐诗三百首 poems pretraining read many times
export * from "./flaws"; // chapter 7: flawed answers (rambling, rude, evasive, wrong format) and their classifier
export * from "./preferences"; // chapter 7: preference pairs (chosen vs rejected answers) for RLHF
