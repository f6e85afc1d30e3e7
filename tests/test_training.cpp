// End to end: a small CNN learns a tiny synthetic problem (bar orientation) to
// high accuracy in a few hundred milliseconds.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;

namespace {
// 8x8 images: class 0 a horizontal bar, 1 a vertical bar, 2 a diagonal, at random positions, with noise.
void make_bars(int64_t n, uint64_t seed, Tensor& x, Tensor& y) {
  Generator g(seed);
  std::vector<float> xs(static_cast<size_t>(n * 64)), ys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int cls = static_cast<int>(i % 3);
    const int pos = static_cast<int>(g.uniform(1, 7));
    float* img = &xs[static_cast<size_t>(i * 64)];
    for (int p = 0; p < 64; ++p) img[p] = static_cast<float>(g.normal(0, 0.3));
    for (int k = 0; k < 8; ++k) {
      if (cls == 0) img[pos * 8 + k] += 1;
      if (cls == 1) img[k * 8 + pos] += 1;
      if (cls == 2) img[k * 8 + (k + pos) % 8] += 1;
    }
    ys[static_cast<size_t>(i)] = static_cast<float>(cls);
  }
  x = Tensor::from<float>({n, 8, 8, 1}, xs);
  y = Tensor::from<float>({n}, ys);
}
}  // namespace

TEST_CASE("a small CNN learns bar orientation", "[training]") {
  manual_seed(3);
  nn::Sequential model(nn::Conv2D(6, {3, 3}, ops::Padding::same), nn::LeakyReLU(0.3), nn::MaxPooling2D(2),
                       nn::Flatten(), nn::Dense(3));
  model.build({8, 8, 1});
  optim::SGD sgd(model.trainable_parameters(), 0.05, 0.9);
  Tensor x, y, xv, yv;
  make_bars(384, 1, x, y);
  make_bars(192, 2, xv, yv);
  model.set_training(true);
  double first_loss = 0, loss = 0;
  for (int epoch = 0; epoch < 15; ++epoch)
    for (int64_t b = 0; b < 384; b += 32) {
      sgd.zero_grad();
      Tensor l = ops::softmax_cross_entropy(model(x.view_at(b * 64, {32, 8, 8, 1})), y.view_at(b, {32}));
      l.backward();
      sgd.step();
      loss = l.item<float>();
      if (epoch == 0 && b == 0) first_loss = loss;
    }
  model.set_training(false);
  NoGrad no_grad;
  const double acc = ops::accuracy(model(xv), yv);
  INFO("first loss " << first_loss << ", last loss " << loss << ", validation accuracy " << acc);
  CHECK(loss < first_loss / 4);
  CHECK(acc > 0.95);
}
