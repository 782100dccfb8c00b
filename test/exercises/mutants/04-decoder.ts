/** Plausible wrong answers to chapter 4's exercises (see test/exercises/graders.test.ts). */
import { tf } from "tiaoyu";
import type * as S from "../../../solutions/04-decoder";
import type { Mutant } from "../../grading";

export const mutants: Mutant<typeof S>[] = [];
