/**
 * 第 0 章练习:TensorFlow.js 入门——广播与 tf.tidy、用梯度下降手工训练。
 *
 * 把每个函数里的 `return todo(...)` 换成你的实现,然后在终端里运行 `npm run grade 00` 查看得分。
 * 评分器会检查你的函数有没有留下没释放的张量:产生张量的计算请包在 `tf.tidy(() => ...)` 里。
 */
import { tf, todo } from "tiaoyu";

/**
 * 0.1 按列标准化(standardize columns)
 *
 * x 的形状是 [N, F]:N 个样本,每个样本 F 个特征。把每一**列**(每个特征)变成均值 0、标准差 1:
 *   y[i][j] = (x[i][j] − mean_j) / std_j
 * 其中 mean_j 是第 j 列的均值,std_j = √(第 j 列的方差),方差用"除以 N"的有偏估计。
 * 用广播来做:形状 [N, F] 的张量减去形状 [F](或 [1, F])的张量,会把后者复制到每一行上。不要写循环。
 * 返回形状 [N, F] 的新张量;中间结果不能留下(用 tf.tidy)。
 *
 * @example
 *   standardizeColumns(tf.tensor2d([[1, 10], [3, 30]])).arraySync()
 *   // 第 0 列均值 2、标准差 1;第 1 列均值 20、标准差 10 → [[−1, −1], [1, 1]]
 */
export function standardizeColumns(x: tf.Tensor2D): tf.Tensor2D {
  return todo("0.1 standardizeColumns");
}

/**
 * 0.2 手工训练多元线性回归(linear regression with several features, by gradient descent)
 *
 * 第 0 章的笔记本训练了一条直线 y ≈ w·x + b。这里每个样本有 F 个特征:X 的形状是 [N, F],要训练
 *   ŷ = X·w + b        w 是长度 F 的向量(形状 [F] 或 [F, 1] 都行),b 是一个数
 * 规则:
 *   - w、b 都是从 0 开始的 tf.variable;
 *   - 损失是均方误差 loss = mean((ŷ − y)²)(对 N 个样本取**平均**);
 *   - 每一步用 `tf.variableGrads` 同时求出 loss 对 w、b 的梯度(都用更新之前的 w、b),再 w ← w − lr·∂loss/∂w,b ← b − lr·∂loss/∂b;
 *   - 一共做 `steps` 步,返回最后的 w(普通的 number[],长度 F)和 b(number)。
 * 结束时不能留下任何张量:每一步的梯度和损失要释放,变量最后也要 dispose()。
 *
 * @example
 *   fitLinear([[0, 1], [1, 0], [1, 1], [2, 1]], [3, 2, 4, 5], 2000, 0.1)   // → 约 { w: [1, 2], b: 1 }(y = x₀ + 2x₁ + 1)
 *   fitLinear([[1, 2]], [2], 1, 0.5)
 *   // 一步:残差 0 − 2 = −2;∂loss/∂w = 2·(−2)·[1, 2] = [−4, −8],∂loss/∂b = −4 → { w: [2, 4], b: 2 }
 */
export function fitLinear(X: number[][], y: number[], steps: number, lr: number): { w: number[]; b: number } {
  return todo("0.2 fitLinear");
}
