/** Evaluation: what the course measures about its models, and how sure each number is. */
export * from "./stats"; // Wilson intervals, base rates, the "no difference" rule
export * from "./nextToken"; // chapter 5: top-1/top-5 next-token accuracy vs unigram and bigram baselines
export * from "./poemForm";  // chapter 5: line lengths, couplets and rhyme of generated poems vs the corpus
export * from "./pretrained"; // chapter 5: the report of a pretrained model (next-token accuracy, form of generations)
