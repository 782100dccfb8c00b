/**
 * The `npx tiaoyu …` commands (lib/commands/), run in-process: each prints its usage for --help, rejects a flag it
 * does not know, and — for the ones that start from an earlier stage's checkpoint — stops with a message naming the
 * missing folder and the command that fills it, before loading anything (full mode, an empty runs folder).
 * `lib/cli.ts` itself is run once as a child process, to see that its table reaches the commands.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { annealCommand } from "tiaoyu/dist/lib/commands/anneal";
import { dataCommand } from "tiaoyu/dist/lib/commands/data";
import { distillCommand } from "tiaoyu/dist/lib/commands/distill";
import { pretrainCommand } from "tiaoyu/dist/lib/commands/pretrain";
import { reasoningCommand } from "tiaoyu/dist/lib/commands/reasoning";
import { reportCommand } from "tiaoyu/dist/lib/commands/report";
import { rlhfCommand } from "tiaoyu/dist/lib/commands/rlhf";
import { sftCommand } from "tiaoyu/dist/lib/commands/sft";
import { shipCommand } from "tiaoyu/dist/lib/commands/ship";
import { tokenizerCommand } from "tiaoyu/dist/lib/commands/tokenizer";
import { withTempRuns } from "./train_fixtures";

type Command = (args: string[]) => Promise<void>;

/** Every command, by the name `npx tiaoyu` knows it by, with the arguments that pick one of its runs. */
const COMMANDS: readonly { name: string; run: Command; args: string[] }[] = [
  { name: "data", run: dataCommand, args: [] },
  { name: "tokenizer", run: tokenizerCommand, args: [] },
  { name: "pretrain", run: pretrainCommand, args: [] },
  { name: "anneal", run: annealCommand, args: [] },
  { name: "sft", run: sftCommand, args: [] },
  { name: "rlhf", run: rlhfCommand, args: ["dpo"] },
  { name: "distill", run: distillCommand, args: [] },
  { name: "reasoning", run: reasoningCommand, args: [] },
  { name: "report", run: reportCommand, args: [] },
  { name: "ship", run: shipCommand, args: [] },
];

/** What `run` prints with console.log. */
async function printed(run: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

/** Runs `fn` in full mode with an empty runs folder and no shipped checkpoints, restoring the environment afterwards. */
function withEmptyRuns(fn: (runs: string) => Promise<void>): Promise<void> {
  // TIAOYU_SHIPPED_DIR names a folder that does not exist: as a clone without checkpoints/.
  return withTempRuns("tiaoyu-commands-", fn, (runs) => ({ TIAOYU_QUICK: undefined, TIAOYU_SHIPPED_DIR: path.join(runs, "no-shipped-checkpoints") }));
}

describe("npx tiaoyu commands", () => {
  for (const c of COMMANDS) {
    it(`${c.name} --help prints its usage`, async () => {
      const out = await printed(() => c.run(["--help"]));
      assert.match(out, new RegExp(`^usage: npx tiaoyu ${c.name}\\b`));
    });

    it(`${c.name} rejects an unknown flag`, async () => {
      await assert.rejects(c.run([...c.args, "--no-such-flag"]), /no-such-flag/);
    });
  }

  // Each command that starts from a checkpoint, the stage it needs, and how to fill it.
  const needs: readonly [string, Command, string[], RegExp][] = [
    ["anneal", annealCommand, [], /stage 'pretrain' in .*pretrain: train it first \(npx tiaoyu pretrain/],
    ["sft", sftCommand, [], /stage 'anneal'.*npx tiaoyu anneal/],
    ["sft --lora", sftCommand, ["--lora"], /stage 'anneal'.*npx tiaoyu anneal/],
    ["rlhf sft", rlhfCommand, ["sft"], /stage 'anneal'.*npx tiaoyu anneal/],
    ["rlhf reward", rlhfCommand, ["reward"], /stage 'sft-flawed'.*npx tiaoyu rlhf sft/],
    ["rlhf dpo", rlhfCommand, ["dpo"], /stage 'sft-flawed'.*npx tiaoyu rlhf sft/],
    ["rlhf grpo", rlhfCommand, ["grpo"], /stage 'sft-flawed'.*npx tiaoyu rlhf sft/],
    ["rlhf grpo-nokl", rlhfCommand, ["grpo-nokl"], /stage 'sft-flawed'.*npx tiaoyu rlhf sft/],
    ["distill", distillCommand, [], /stage 'sft'.*npx tiaoyu sft, or chapter 6's notebook/],
    ["reasoning", reasoningCommand, [], /stage 'sft'.*npx tiaoyu sft/],
    ["report", reportCommand, [], /stage 'pretrain'.*npx tiaoyu pretrain/],
    ["report sft", reportCommand, ["sft"], /stage 'sft'.*npx tiaoyu sft/],
    ["ship sft", shipCommand, ["sft"], /stage 'sft'.*npx tiaoyu sft/],
  ];
  for (const [name, run, args, message] of needs) {
    it(`${name} without the checkpoint it starts from says which one and how to make it`, async () => {
      await withEmptyRuns(async () => assert.rejects(run(args), message));
    });
  }

  it("--resume with nothing to resume is an error, not a silent fresh start", async () => {
    await withEmptyRuns(async (runs) => {
      await assert.rejects(pretrainCommand(["--resume"]), /--resume: nothing to resume in .*pretrain/);
      await assert.rejects(pretrainCommand(["--resume", "--run-dir", path.join(runs, "elsewhere")]), /nothing to resume in .*elsewhere/);
    });
  });

  it("rlhf takes β for dpo and grpo and a group size for grpo only, checking their ranges", async () => {
    await assert.rejects(rlhfCommand(["reward", "--beta", "0.1"]), /--beta is for dpo and grpo/);
    await assert.rejects(rlhfCommand(["dpo", "--group-size", "4"]), /--group-size is for grpo/);
    await assert.rejects(rlhfCommand(["dpo", "--beta", "0"]), /--beta must be > 0/);
    await assert.rejects(rlhfCommand(["grpo", "--group-size", "1"]), /--group-size/);
    await assert.rejects(rlhfCommand(["grpo", "--beta", "-1"]), /--beta/);
  });

  it("rlhf needs exactly one of sft, reward, dpo, grpo, grpo-nokl", async () => {
    await assert.rejects(rlhfCommand([]), /one of sft, reward, dpo, grpo, grpo-nokl \(got none\)/);
    await assert.rejects(rlhfCommand(["ppo"]), /got 'ppo'/);
  });

  it("report names the stages it knows and checks its numbers", async () => {
    await assert.rejects(reportCommand(["pretrian"]), /no stage called 'pretrian'; the stages are pretrain, anneal/);
    await assert.rejects(reportCommand(["--poems", "0"]), /--poems/);
  });

  it("ship refuses quick-mode models and names the stages it knows", async () => {
    await assert.rejects(shipCommand(["anneel"]), /no stage called 'anneel'/);
    const quick = process.env.TIAOYU_QUICK;
    process.env.TIAOYU_QUICK = "1";
    try {
      await assert.rejects(shipCommand([]), /quick-mode models are not shipped/);
    } finally {
      if (quick === undefined) delete process.env.TIAOYU_QUICK;
      else process.env.TIAOYU_QUICK = quick;
    }
  });

  it("distill --student names the students it knows", async () => {
    await assert.rejects(distillCommand(["--student", "grey"]), /--student grey: use one of labels, blackbox, whitebox/);
  });

  it("the CLI's table reaches every command (child process)", function () {
    this.timeout(60_000);
    const cli = path.join(__dirname, "..", "..", "dist", "lib", "cli.js");
    const list = spawnSync(process.execPath, [cli], { encoding: "utf8" });
    assert.strictEqual(list.status, 0, list.stderr);
    for (const c of COMMANDS) assert.match(list.stdout, new RegExp(`^  ${c.name}\\s`, "m"));
    const help = spawnSync(process.execPath, [cli, "reasoning", "--help"], { encoding: "utf8" });
    assert.strictEqual(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: npx tiaoyu reasoning/);
    const bad = spawnSync(process.execPath, [cli, "distill", "--bogus"], { encoding: "utf8" });
    assert.strictEqual(bad.status, 2); // a usage error (issue 18), as tools people know exit
    assert.match(bad.stderr, /^tiaoyu: .*--bogus/);
  });

  it("package.json's bin runs as a program, as `npx tiaoyu` runs it (the build gives it its execute bit back)", function () {
    this.timeout(60_000);
    const root = path.join(__dirname, "..", "..");
    const bin = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).bin as Record<string, string>;
    assert.deepStrictEqual(Object.keys(bin), ["tiaoyu"]);
    const run = spawnSync(path.join(root, bin.tiaoyu), ["reasoning", "--help"], { encoding: "utf8" });
    assert.ifError(run.error); // EACCES when the file lost its execute bit
    assert.strictEqual(run.status, 0, run.stderr);
    assert.match(run.stdout, /^usage: npx tiaoyu reasoning/);
  });
});
