import * as assert from "assert";
import { ByteBPETokenizer, chatTokenIds, crossEntropy, encodeChat, extractAnswer as libExtract, tf } from "tiaoyu";
import { exercise, target } from "../grading";

const ex = target<typeof import("../../solutions/06-sft")>("06-sft");

describe("chapter 06 — 有监督微调", () => {
  exercise("6.1 chatLossMask", {
    points: 2,
    hint: "对话格式是 user、问题、end、assistant、回答、end;只有回答和最后一个 end 参与损失",
    code: "ids = [user, ...promptIds, end, assistant, ...answerIds, end];前 promptIds.length + 3 个掩码为 0,后 answerIds.length + 1 个为 1",
    libraryTwins: ["encodeChat", "encodeChatTurns", "formatChat", "encodeChatData"],
  }, async () => {
    assert.deepStrictEqual(ex().chatLossMask([10, 11], [20], { user: 1, assistant: 2, end: 3 }), { ids: [1, 10, 11, 3, 2, 20, 3], lossMask: [0, 0, 0, 0, 0, 1, 1] });
    assert.deepStrictEqual(ex().chatLossMask([], [], { user: 7, assistant: 8, end: 9 }), { ids: [7, 9, 8, 9], lossMask: [0, 0, 0, 1] });
    // The same as the library's encodeChat on a real tokenizer.
    const tok = await ByteBPETokenizer.train(["床前明月光，疑是地上霜。"], { vocabSize: 280 });
    const sp = chatTokenIds(tok);
    const example = { prompt: "床前明月光的下一句？", answer: "疑是地上霜。" };
    const mine = ex().chatLossMask(tok.encode(example.prompt), tok.encode(example.answer), sp);
    assert.deepStrictEqual(mine, encodeChat(tok, example));
  });

  exercise("6.2 shiftForTraining", {
    points: 1,
    hint: "第 t 个位置预测第 t+1 个 token:输入去掉最后一个,目标去掉第一个,掩码跟着目标走",
    code: "inputs = ids.slice(0, -1),targets = ids.slice(1),mask = lossMask.slice(1)",
    libraryTwins: ["collateChat"],
  }, () => {
    assert.deepStrictEqual(ex().shiftForTraining([1, 10, 3, 2, 20, 3], [0, 0, 0, 0, 1, 1]), {
      inputs: [1, 10, 3, 2, 20], targets: [10, 3, 2, 20, 3], mask: [0, 0, 0, 1, 1],
    });
    assert.deepStrictEqual(ex().shiftForTraining([5, 6], [0, 1]), { inputs: [5], targets: [6], mask: [1] });
  });

  exercise("6.3 maskedMeanLoss", {
    points: 2,
    hint: "只在掩码为 1 的位置上平均(除以掩码之和,不是总位置数);掩码全 0 时返回 0;返回的是标量",
    code: "tf.tidy(() => tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)))",
    libraryTwins: ["crossEntropy", "chatLoss"],
  }, () => {
    const nll = tf.tensor2d([[1, 2, 3]]), mask = tf.tensor2d([[0, 1, 1]]);
    const before = tf.memory().numTensors;
    const got = ex().maskedMeanLoss(nll, mask);
    assert.strictEqual(tf.memory().numTensors, before + 1, "leaves intermediate tensors alive: wrap the body in tf.tidy(() => ...)");
    assert.strictEqual(got.rank, 0, `should return a scalar (shape []), got shape [${got.shape}]`);
    const v = got.dataSync()[0];
    assert.ok(Math.abs(v - 5 / 3) > 1e-4, `got ${v} = (0 + 2 + 3) / 3: that averages over every position; divide by the number of positions the mask keeps (2)`);
    assert.ok(Math.abs(v - 2) > 1e-4, `got ${v} = (1 + 2 + 3) / 3: the mask was not applied`);
    assert.ok(Math.abs(v - 2.5) < 1e-6, `expected (2 + 3) / 2 = 2.5, got ${v}`);
    const zero = ex().maskedMeanLoss(nll, tf.zeros([1, 3]));
    assert.strictEqual(zero.dataSync()[0], 0, "an all-zero mask gives 0, not NaN");
    // Agrees with the model's masked cross-entropy.
    const logits = tf.randomNormal([2, 4, 7], 0, 1, "float32", 3) as tf.Tensor3D;
    const targets = tf.tensor2d([[1, 2, 3, 4], [0, 6, 5, 1]], [2, 4], "int32");
    const m = tf.tensor2d([[0, 0, 1, 1], [0, 1, 1, 1]]);
    const perToken = tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, 7)), -1))) as tf.Tensor2D;
    const mine = ex().maskedMeanLoss(perToken, m).dataSync()[0];
    const lib = crossEntropy(logits, targets, m).dataSync()[0];
    assert.ok(Math.abs(mine - lib) < 1e-5, `yours ${mine}, lib ${lib}`);
    tf.dispose([nll, mask, got, zero, logits, targets, m, perToken]);
  });

  exercise("6.4 extractAnswer", {
    points: 1,
    hint: "答案在第一对完整的「」里,两端的空白要去掉;没有完整的一对就返回 null",
    code: "正则 /「([^「」]*)」/ 找第一对「」,取第 1 组并 trim();没找到返回 null",
    libraryTwins: ["extractAnswer", "answerPart"],
  }, () => {
    for (const reply of ["作者是「李白」。", "下一句是「疑是地上霜」。", "「 五言 」诗", "床前明月光", "「未闭合", "「甲」和「乙」", ""]) {
      assert.strictEqual(ex().extractAnswer(reply), libExtract(reply), JSON.stringify(reply));
    }
  });
});
