#!/usr/bin/env node
/**
 * `npx tiaoyu <command>`: the course's long-running jobs, outside the notebooks.
 * Each command lives in its own file under lib/commands/ and is listed in COMMANDS below, loaded only when run
 * (so `npx tiaoyu --help` does not load TensorFlow.js).
 */
import { nearest, UsageError } from "./flags";

interface Command {
  readonly summary: string;
  run(args: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  backend: {
    summary: "print which TensorFlow.js backend would be used, and why",
    async run(args) {
      await (await import("./commands/backend")).backendCommand(args);
    },
  },
  data: {
    summary: "chapter 1: build the cleaned poetry corpus in datasets/ (--quick for the small subset, --force to rebuild)",
    async run(args) {
      await (await import("./commands/data")).dataCommand(args);
    },
  },
  tokenizer: {
    summary: "chapter 2: train the course's byte-level BPE on the corpus (--quick, --force, --vocab N; encode TEXT)",
    async run(args) {
      await (await import("./commands/tokenizer")).tokenizerCommand(args);
    },
  },
  pretrain: {
    summary: "chapter 5: pretrain the model on the poems (--preset course --steps N --resume; --help)",
    async run(args) {
      await (await import("./commands/pretrain")).pretrainCommand(args);
    },
  },
  anneal: {
    summary: "chapter 5: anneal the pretrained model on a stream rich in 唐诗三百首 (--steps N --resume; --help)",
    async run(args) {
      await (await import("./commands/anneal")).annealCommand(args);
    },
  },
  report: {
    summary: "chapter 5: next-token accuracy vs unigram/bigram and the form of generated poems, for a stage's checkpoint",
    async run(args) {
      await (await import("./commands/report")).reportCommand(args);
    },
  },
  ship: {
    summary: "put a trained stage (default: anneal, chapter 5's base model) into checkpoints/, shipped with the course",
    async run(args) {
      await (await import("./commands/ship")).shipCommand(args);
    },
  },
  sft: {
    summary: "chapters 6 and 8: fine-tune the pretrained model on the poem questions (--lora for adapters only; --help)",
    async run(args) {
      await (await import("./commands/sft")).sftCommand(args);
    },
  },
  rlhf: {
    summary: "chapter 7: the flawed SFT model and its alignment — reward model, DPO, GRPO (rlhf sft|reward|dpo|grpo|grpo-nokl; --help)",
    async run(args) {
      await (await import("./commands/rlhf")).rlhfCommand(args);
    },
  },
  distill: {
    summary: "chapter 9: distil the SFT model into a small student, three ways, and compare (--help)",
    async run(args) {
      await (await import("./commands/distill")).distillCommand(args);
    },
  },
  reasoning: {
    summary: "chapter 10: fine-tune on reasoning traces vs answers alone, optionally GRPO (--grpo; --help)",
    async run(args) {
      await (await import("./commands/reasoning")).reasoningCommand(args);
    },
  },
};

function usage(): string {
  const lines = ["usage: npx tiaoyu <command> [options]", "", "commands:"];
  for (const [n, c] of Object.entries(COMMANDS)) lines.push(`  ${n.padEnd(12)} ${c.summary}`);
  lines.push("", "npx tiaoyu <command> --help shows a command's options.");
  return lines.join("\n");
}

/**
 * `npx tiaoyu`, `--help`, `-h` and `help` print the usage and exit 0; `help <command>` is `<command> --help`;
 * an unknown command is named, with the nearest one, and exits 2 (a usage error), like the tools people know.
 */
async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && args.length === 0)) {
    console.log(usage());
    return;
  }
  if (name === "help") return main([args[0], "--help"]);
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    const near = nearest(name.replace(/^-+/, ""), Object.keys(COMMANDS));
    throw new UsageError(`unknown command '${name}'${near ? ` — did you mean '${near}'?` : ""} (npx tiaoyu --help lists the commands)`);
  }
  await cmd.run(args);
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`tiaoyu: ${e.message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
