/** Evaluation: what the course measures about its models, and how sure each number is. */
export * from "./stats"; // Wilson intervals, base rates, the "no difference" rule
