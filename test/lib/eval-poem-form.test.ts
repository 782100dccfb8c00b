/** The form of generated poems (lib/eval/poemForm.ts), checked on poems whose form is known by hand. */
import * as assert from "assert";
import { evenLinesRhyme, inCouplets, poemFormReport } from "tiaoyu";

const JINGYESI = "<s>床前明月光，疑是地上霜。举头望明月，低头思故乡。</s>";
const QIYAN = "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。";

describe("poem form of generations", () => {
  it("recognises couplets of one length, and rejects broken ones", () => {
    assert.strictEqual(inCouplets(JINGYESI), true);
    assert.strictEqual(inCouplets(QIYAN), true);
    assert.strictEqual(inCouplets("床前明月光，疑是地上霜，举头望明月。"), false, "a comma where a full stop belongs");
    assert.strictEqual(inCouplets("床前明月光，疑是霜。"), false, "halves of different lengths");
    assert.strictEqual(inCouplets("床前明月光疑是地上霜"), false, "no punctuation");
    assert.strictEqual(inCouplets("床前明月光，疑是地上霜。举头"), false, "a trailing half line");
  });

  it("checks the rhyme of lines 2 and 4 by modern reading", () => {
    assert.strictEqual(evenLinesRhyme(JINGYESI), true); // 霜, 乡
    assert.strictEqual(evenLinesRhyme("床前明月光，疑是地上霜。举头望明月，低头思故人。"), false); // 霜, 人
    assert.strictEqual(evenLinesRhyme("床前明月光，疑是地上霜。"), null, "fewer than four lines");
  });

  it("reports rates with n: lines, poems, and the poems whose rhyme can be judged", () => {
    const r = poemFormReport([JINGYESI, QIYAN, "天地玄黄宇宙洪荒，日月。"]);
    assert.strictEqual(r.poems, 3);
    assert.strictEqual(r.regularLines.n, 10);
    assert.strictEqual(r.regularLines.k, 8);
    assert.strictEqual(r.couplets.k, 2);
    // 还 reads hái or huán, so 早发白帝城's rhyme is not judged: only 静夜思 (霜/乡, 唐) counts.
    assert.strictEqual(r.evenLinesRhyme.n, 1);
    assert.strictEqual(r.evenLinesRhyme.k, 1);
  });
});
