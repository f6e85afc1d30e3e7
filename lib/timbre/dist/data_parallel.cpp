#include "timbre/dist/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

namespace timbre::dist {

namespace {

// FNV-1a over the text that describes the model's and optimizer's variables.
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

struct Signature {
  uint64_t checksum = 0;
  uint64_t variables = 0;
  uint64_t parameters = 0;  // elements of all variables
};

std::string describe(const Signature& s) {
  char text[128];
  std::snprintf(text, sizeof text, "%llu variables, %llu values, checksum %016llx",
                static_cast<unsigned long long>(s.variables), static_cast<unsigned long long>(s.parameters),
                static_cast<unsigned long long>(s.checksum));
  return text;
}

}  // namespace

DataParallel::DataParallel(nn::Module& model, optim::Optimizer& optimizer, Communicator& comm,
                           DataParallelOptions options)
    : model_(model), optimizer_(optimizer), comm_(comm) {
  check(model.built(), "dist::DataParallel", "the model must be built first");
  check(options.bucket_bytes >= dtype_size(optimizer.gradients().dtype()), "dist::DataParallel",
        "bucket_bytes must hold at least one gradient, got ", options.bucket_bytes);
  bucket_elements_ = static_cast<int64_t>(options.bucket_bytes / dtype_size(optimizer.gradients().dtype()));
  check_same_model_everywhere();
  broadcast_state();
}

void DataParallel::check_same_model_everywhere() {
  std::ostringstream text;
  Signature mine;
  for (const nn::Variable& v : model_.variables()) {
    text << v.name << ' ' << v.value.shape() << ' ' << dtype_name(v.value.dtype()) << ' ' << v.trainable << ';';
    ++mine.variables;
    mine.parameters += static_cast<uint64_t>(v.value.numel());
  }
  text << "optimizer " << optimizer_.values().numel() << ' ' << dtype_name(optimizer_.values().dtype());
  for (const auto& [name, state] : optimizer_.state()) text << ' ' << name;
  mine.checksum = fnv1a(text.str());

  Signature root = mine;
  comm_.broadcast(&root, sizeof root, 0, Device::cpu());
  const bool same = root.checksum == mine.checksum && root.variables == mine.variables &&
                    root.parameters == mine.parameters;
  // Every rank learns which ranks differ, so all of them fail alike (none waits in a later collective).
  std::vector<double> differs(static_cast<size_t>(comm_.world_size()), 0.0);
  differs[static_cast<size_t>(comm_.rank())] = same ? 0.0 : 1.0;
  differs = comm_.all_reduce(std::move(differs), ReduceOp::sum);
  std::string ranks;
  for (size_t r = 0; r < differs.size(); ++r)
    if (differs[r] != 0) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  check(ranks.empty(), "dist::DataParallel",
        "the model or optimizer differs across ranks: rank(s) ", ranks, " built another one than rank 0 (rank 0: ",
        describe(root), "; rank ", comm_.rank(), ": ", describe(mine),
        "). Every rank must build the same model with the same optimizer.");
}

void DataParallel::broadcast_state() {
  for (const nn::Variable& v : model_.variables()) comm_.broadcast(v.value, 0);
  for (auto& [name, state] : optimizer_.state()) comm_.broadcast(state, 0);
  int64_t iterations = optimizer_.iterations();
  comm_.broadcast(&iterations, sizeof iterations, 0, Device::cpu());
  optimizer_.set_iterations(iterations);
}

int64_t DataParallel::bucket_count() const {
  return (optimizer_.gradients().numel() + bucket_elements_ - 1) / bucket_elements_;
}

void DataParallel::synchronize_gradients() {
  const auto start = std::chrono::steady_clock::now();
  const Tensor& gradients = optimizer_.gradients();
  const int64_t total = gradients.numel();
  char* base = static_cast<char*>(gradients.raw_data());
  const size_t element = dtype_size(gradients.dtype());
  for (int64_t begin = 0; begin < total; begin += bucket_elements_)
    comm_.all_reduce(base + static_cast<size_t>(begin) * element, std::min(bucket_elements_, total - begin),
                     gradients.dtype(), ReduceOp::average, gradients.device());
  last_synchronize_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void DataParallel::step() {
  synchronize_gradients();
  optimizer_.step();
}

}  // namespace timbre::dist
