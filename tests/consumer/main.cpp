// The README's library example: a tiny network learns XOR.
#include <iostream>
#include <timbre/timbre.h>

int main() {
  using namespace timbre;
  manual_seed(0);
  Tensor x = Tensor::from<float>({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  Tensor y = Tensor::from<float>({4}, {0, 1, 1, 0});  // class indices

  nn::Sequential model(nn::Dense(16, nn::Activation::tanh), nn::Dense(2));
  model.build({2});
  model.summary(std::cout);

  optim::Adam adam(model.trainable_parameters(), 0.05);
  model.set_training(true);
  for (int step = 0; step < 200; ++step) {
    adam.zero_grad();
    Tensor loss = ops::softmax_cross_entropy(model(x), y);
    loss.backward();
    adam.step();
    if (step % 50 == 0) std::cout << "step " << step << "  loss " << loss.item<float>() << "\n";
  }
  model.set_training(false);
  const double accuracy = ops::accuracy(model(x), y);
  std::cout << "accuracy " << accuracy << "\n";
  return accuracy == 1.0 ? 0 : 1;
}
