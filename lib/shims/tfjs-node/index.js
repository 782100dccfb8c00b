// danfojs-node asks for @tensorflow/tfjs-node, whose install downloads libtensorflow (impossible offline).
// It only needs the tfjs API, so hand it the project's own @tensorflow/tfjs: one engine, one set of kernels.
module.exports = require("@tensorflow/tfjs");
