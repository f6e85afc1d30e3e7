// Data-parallel tests that run in every rank of a job: `mpirun -np 2
// timbre_dist_tests` (ctest dist_mpi_2_ranks) and, as one process, ctest
// dist_single_process. Every rank runs the same test cases in the same order,
// so their collectives match.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "dist_support.h"
#include "tests/gradcheck.h"
#include "timbre/dist/sync_batchnorm.h"

using namespace timbre;
using namespace timbre::testing;

namespace {

std::unique_ptr<dist::Communicator> world_comm;
dist::Communicator& world() { return *world_comm; }

// Largest |a - b| / max(|b|, floor) over the elements: relative, with a floor for values near zero.
double max_relative_difference(const Tensor& a, const Tensor& b, double floor) {
  const auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < av.size(); ++i)
    worst = std::max(worst, std::abs(av[i] - bv[i]) / std::max(std::abs(bv[i]), floor));
  return worst;
}

// True on every rank when `t` holds the same values on all ranks.
bool same_on_all_ranks(const Tensor& t) {
  Tensor mine = t.to(DType::f64).clone();
  Tensor mean = mine.clone();
  world().all_reduce(mean, dist::ReduceOp::average);
  return max_relative_difference(mine, mean, 1e-30) == 0;
}

}  // namespace

TEST_CASE("communicator: rank, world size, all-reduce, broadcast", "[dist]") {
  const int w = world().world_size(), r = world().rank();
  REQUIRE(w >= 1);
  REQUIRE(r >= 0);
  REQUIRE(r < w);
  CHECK(world().local_rank() >= 0);
  CHECK(world().local_rank() < world().local_size());
  if (dist::launched_by_mpi() && dist::built_with_mpi()) CHECK(world().backend() == dist::Backend::mpi);

  Tensor t = Tensor::from<float>({3}, {float(r), 1.f, float(2 * r + 1)});
  world().all_reduce(t, dist::ReduceOp::sum);
  const float ranks_sum = float(w * (w - 1) / 2);
  CHECK(t.to_vector<float>() == std::vector<float>{ranks_sum, float(w), 2 * ranks_sum + w});
  Tensor avg = Tensor::from<double>({2}, {double(r), 4.0});
  world().all_reduce(avg, dist::ReduceOp::average);
  CHECK(avg.to_vector<double>() == std::vector<double>{ranks_sum / w, 4.0});

  Tensor b = Tensor::full({5}, r == 0 ? 7.0 : -1.0);
  world().broadcast(b, 0);
  CHECK(b.to_vector<float>() == std::vector<float>(5, 7.f));
  const int last = w - 1;
  Tensor c = Tensor::full({2}, double(r));
  world().broadcast(c, last);
  CHECK(c.to_vector<float>() == std::vector<float>(2, float(last)));
  world().barrier();
  CHECK_THROWS_WITH(world().broadcast(c, w), Catch::Contains("root rank") && Catch::Contains("out of range"));
}

TEST_CASE("data parallel with global batch 16 matches one process with batch 16", "[dist]") {
  const int64_t n = 64, global_batch = 16, epochs = 2;
  const SmallData data = small_dist_data(n);
  for (const char* optimizer_kind : {"sgd", "adam"}) {
    SECTION(optimizer_kind) {
      auto make_optimizer = [&](nn::Module& m) -> std::unique_ptr<optim::Optimizer> {
        if (std::string(optimizer_kind) == "sgd")
          return std::make_unique<optim::SGD>(m.trainable_parameters(), 0.1, 0.9);
        return std::make_unique<optim::Adam>(m.trainable_parameters(), 0.01);
      };
      // This process alone, the whole global batch at a time.
      manual_seed(11);
      nn::Sequential reference = small_dist_model();
      auto reference_optimizer = make_optimizer(reference);
      const dist::ShardSampler alone(n, global_batch, 0, 1, 5);
      // Data parallel: each rank its shard, starting from different initial
      // values (rank 0's are broadcast), so the test fails without the broadcast.
      manual_seed(11 + static_cast<uint64_t>(world().rank()));
      nn::Sequential model = small_dist_model();
      auto optimizer = make_optimizer(model);
      dist::DataParallel dp(model, *optimizer, world());
      const dist::ShardSampler sharded(n, global_batch, world(), 5);
      REQUIRE(sharded.local_batch() == global_batch / world().world_size());
      REQUIRE(sharded.steps_per_epoch() == alone.steps_per_epoch());

      reference.set_training(true);
      model.set_training(true);
      for (int64_t epoch = 0; epoch < epochs; ++epoch) {
        const std::vector<int64_t> all = alone.indices(epoch), mine = sharded.indices(epoch);
        for (int64_t step = 0; step < alone.steps_per_epoch(); ++step) {
          forward_backward(reference, *reference_optimizer, data,
                           {all.begin() + step * global_batch, all.begin() + (step + 1) * global_batch});
          reference_optimizer->step();
          const int64_t local = sharded.local_batch();
          forward_backward(model, *optimizer, data, {mine.begin() + step * local, mine.begin() + (step + 1) * local});
          dp.step();
        }
      }
      const auto expected = reference.variables(), got = model.variables();
      REQUIRE(expected.size() == got.size());
      for (size_t i = 0; i < got.size(); ++i) {
        INFO(got[i].name);
        // Relative to the values, with a floor of 1e-2 for those near zero; the parameters are O(0.1 .. 1).
        CHECK(max_relative_difference(got[i].value, expected[i].value, 1e-2) < 1e-5);
        CHECK(same_on_all_ranks(got[i].value));
      }
      CHECK(optimizer->iterations() == reference_optimizer->iterations());
    }
  }
}

TEST_CASE("buffers (BatchNorm moving statistics) come from rank 0", "[dist]") {
  using namespace nn;
  manual_seed(static_cast<uint64_t>(100 + world().rank()));
  Sequential model(Conv2D(3, {3, 3}), BatchNormalization(), Flatten(), Dense(2));
  model.build({5, 5, 1});
  auto& bn = dynamic_cast<BatchNormalization&>(*model.children()[1]);
  // Rank-specific moving statistics, as after training on local batches.
  bn.moving_mean.copy_from(Tensor::full({3}, 1.0 + world().rank()));
  optim::SGD optimizer(model.trainable_parameters(), 0.1);
  dist::DataParallel dp(model, optimizer, world());
  for (const nn::Variable& v : model.variables()) {
    INFO(v.name);
    CHECK(same_on_all_ranks(v.value));
  }
  CHECK(bn.moving_mean.to_vector<float>() == std::vector<float>(3, 1.f));
}

TEST_CASE("every sample of an epoch once across ranks, new shards every epoch", "[dist]") {
  const int64_t n = 37;  // not a multiple of 2: rank shards are padded by one repeated sample
  const dist::ShardSampler sampler(n, 4, world(), 9);
  std::vector<int64_t> previous;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    const std::vector<int64_t> mine = sampler.indices(epoch);
    CHECK(static_cast<int64_t>(mine.size()) == sampler.shard_size());
    std::vector<double> seen(static_cast<size_t>(n), 0.0);
    for (int64_t i : mine) seen[static_cast<size_t>(i)] += 1;
    seen = world().all_reduce(seen, dist::ReduceOp::sum);
    const int64_t padded = sampler.shard_size() * world().world_size() - n;
    double total = 0;
    int64_t twice = 0;
    for (double s : seen) {
      CHECK(s >= 1);
      CHECK(s <= 2);
      twice += s == 2;
      total += s;
    }
    CHECK(total == double(n + padded));
    CHECK(twice == padded);
    if (epoch > 0) CHECK(mine != previous);
    previous = mine;
  }
}

TEST_CASE("a global batch that does not divide by the world size is refused", "[dist]") {
  const int w = world().world_size();
  if (w > 1) {
    CHECK_THROWS_WITH(dist::ShardSampler(100, 2 * w + 1, world(), 1),
                      Catch::Contains("global batch size " + std::to_string(2 * w + 1)) &&
                          Catch::Contains("does not divide among " + std::to_string(w) + " ranks"));
  }
  CHECK_NOTHROW(dist::ShardSampler(100, 2 * w, world(), 1));
}

TEST_CASE("different models on different ranks are refused on every rank", "[dist]") {
  const int w = world().world_size();
  manual_seed(5);
  // The last rank's Dense is one unit wider.
  nn::Sequential model = small_dist_model(world().rank() == w - 1 && w > 1 ? 6 : 5);
  optim::SGD optimizer(model.trainable_parameters(), 0.1);
  if (w > 1) {
    CHECK_THROWS_WITH(dist::DataParallel(model, optimizer, world()),
                      Catch::Contains("differs across ranks") &&
                          Catch::Contains("rank(s) " + std::to_string(w - 1) + " built another one than rank 0"));
  } else {
    CHECK_NOTHROW(dist::DataParallel(model, optimizer, world()));
  }
}

TEST_CASE("gradient buckets: several small buckets give the same average as one", "[dist]") {
  manual_seed(21);
  nn::Sequential model = small_dist_model();
  optim::SGD optimizer(model.trainable_parameters(), 0.1);
  dist::DataParallel one(model, optimizer, world());
  dist::DataParallel many(model, optimizer, world(), {.bucket_bytes = 1000});
  CHECK(one.bucket_count() == 1);
  CHECK(many.bucket_count() == (optimizer.gradients().numel() * 4 + 999) / 1000);
  const SmallData data = small_dist_data(8);
  const std::vector<int64_t> rows = world().rank() == 0 ? std::vector<int64_t>{0, 1, 2} : std::vector<int64_t>{5, 6, 7};
  forward_backward(model, optimizer, data, rows);
  const Tensor local = optimizer.gradients().clone();
  one.synchronize_gradients();
  const Tensor by_one = optimizer.gradients().clone();
  optimizer.gradients().copy_from(local);
  many.synchronize_gradients();
  CHECK(max_relative_difference(optimizer.gradients(), by_one, 1e-30) == 0);
  CHECK(same_on_all_ranks(optimizer.gradients()));
}

TEST_CASE("gradcheck sync_batchnorm (this process alone)", "[dist][sync_batchnorm][gradcheck]") {
  auto alone = dist::init(dist::Backend::single);
  const Tensor moving_mean = Tensor::zeros({3}, DType::f64), moving_variance = Tensor::ones({3}, DType::f64);
  auto r = gradcheck(
      [&](auto& in) { return dist::sync_batchnorm(in[0], in[1], in[2], moving_mean, moving_variance, true, *alone); },
      {random_tensor({4, 2, 3}, 1, -2, 2).set_requires_grad(), random_tensor({3}, 2, 0.5, 1.5).set_requires_grad(),
       random_tensor({3}, 3).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
}

// Each rank holds its rows of one global batch: outputs, input gradients, the
// ranks' summed gamma/beta gradients and the moving statistics must be those
// of ops::batchnorm on the whole batch (itself gradient-checked in test_batchnorm).
TEST_CASE("sync_batchnorm across ranks equals batchnorm of the global batch", "[dist][sync_batchnorm]") {
  const int w = world().world_size(), r = world().rank();
  const int64_t rows_per_rank = 3, C = 4, total = rows_per_rank * w;
  const Tensor x_all = random_tensor({total, C}, 7, -3, 5), upstream_all = random_tensor({total, C}, 8);
  const Tensor gamma = random_tensor({C}, 9, 0.5, 1.5), beta = random_tensor({C}, 10);
  auto rows_of = [&](const Tensor& t, int64_t first, int64_t n) {
    const auto v = t.to_vector<double>();
    return Tensor::from<double>({n, C}, std::vector<double>(v.begin() + first * C, v.begin() + (first + n) * C));
  };
  const ops::BatchNormOptions options{.momentum = 0.9, .epsilon = 1e-3};

  Tensor x = rows_of(x_all, r * rows_per_rank, rows_per_rank).set_requires_grad();
  Tensor g = gamma.clone().set_requires_grad(), b = beta.clone().set_requires_grad();
  Tensor mm = Tensor::zeros({C}, DType::f64), mv = Tensor::ones({C}, DType::f64);
  Tensor y = dist::sync_batchnorm(x, g, b, mm, mv, true, world(), options);
  y.backward(rows_of(upstream_all, r * rows_per_rank, rows_per_rank));

  Tensor xr = x_all.clone().set_requires_grad(), gr = gamma.clone().set_requires_grad(),
         br = beta.clone().set_requires_grad();
  Tensor mmr = Tensor::zeros({C}, DType::f64), mvr = Tensor::ones({C}, DType::f64);
  Tensor yr = ops::batchnorm(xr, gr, br, mmr, mvr, true, options);
  yr.backward(upstream_all);

  CHECK(max_relative_difference(y, rows_of(yr, r * rows_per_rank, rows_per_rank), 1e-6) < 1e-12);
  CHECK(max_relative_difference(x.grad(), rows_of(xr.grad(), r * rows_per_rank, rows_per_rank), 1e-6) < 1e-12);
  Tensor gamma_grad = g.grad().clone(), beta_grad = b.grad().clone();
  world().all_reduce(gamma_grad, dist::ReduceOp::sum);
  world().all_reduce(beta_grad, dist::ReduceOp::sum);
  CHECK(max_relative_difference(gamma_grad, gr.grad(), 1e-6) < 1e-12);
  CHECK(max_relative_difference(beta_grad, br.grad(), 1e-6) < 1e-12);
  CHECK(max_relative_difference(mm, mmr, 1e-6) < 1e-12);
  CHECK(max_relative_difference(mv, mvr, 1e-6) < 1e-12);
  if (w > 1) {
    // Local statistics (plain batchnorm on this rank's rows) are not those of the global batch.
    Tensor local = ops::batchnorm(rows_of(x_all, r * rows_per_rank, rows_per_rank), gamma, beta,
                                  Tensor::zeros({C}, DType::f64), Tensor::ones({C}, DType::f64), true, options);
    CHECK(max_relative_difference(local, y, 1e-6) > 1e-3);
  }
}

TEST_CASE("SyncBatchNormalization: a model with it trains on 2 ranks x 8 as one process on 16", "[dist][sync_batchnorm]") {
  using namespace nn;
  const int64_t n = 32, global_batch = 16;
  const SmallData data = small_dist_data(n);
  auto make = [&](auto norm) {
    Sequential model(Conv2D(4, {3, 3}), std::move(norm), Reshape({6, 16}), LSTM(8), Dense(5));
    model.build({8, 6, 1});
    return model;
  };
  auto alone = dist::init(dist::Backend::single);
  manual_seed(3);
  Sequential reference = make(BatchNormalization());
  optim::SGD reference_optimizer(reference.trainable_parameters(), 0.1, 0.9);
  manual_seed(3);
  Sequential model = make(dist::SyncBatchNormalization(world()));
  optim::SGD optimizer(model.trainable_parameters(), 0.1, 0.9);
  dist::DataParallel dp(model, optimizer, world());
  const dist::ShardSampler whole(n, global_batch, 0, 1, 4), sharded(n, global_batch, world(), 4);
  reference.set_training(true);
  model.set_training(true);
  const std::vector<int64_t> all = whole.indices(0), mine = sharded.indices(0);
  for (int64_t step = 0; step < whole.steps_per_epoch(); ++step) {
    forward_backward(reference, reference_optimizer, data,
                     {all.begin() + step * global_batch, all.begin() + (step + 1) * global_batch});
    reference_optimizer.step();
    const int64_t local = sharded.local_batch();
    forward_backward(model, optimizer, data, {mine.begin() + step * local, mine.begin() + (step + 1) * local});
    dp.step();
  }
  const auto expected = reference.variables(), got = model.variables();
  REQUIRE(expected.size() == got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(got[i].name);
    CHECK(got[i].name == expected[i].name);
    CHECK(max_relative_difference(got[i].value, expected[i].value, 1e-2) < 1e-5);
  }
}

// The sampler alone, for simulated worlds of 1 to 4 ranks (no communication).
TEST_CASE("ShardSampler: simulated ranks cover an epoch once, padded or dropped", "[dist][sampler]") {
  for (int w = 1; w <= 4; ++w) {
    for (int64_t n : {1, 7, 12, 13}) {
      for (dist::Remainder remainder : {dist::Remainder::pad, dist::Remainder::drop}) {
        if (remainder == dist::Remainder::drop && n < w) continue;
        INFO("world " << w << ", " << n << " samples, " << (remainder == dist::Remainder::pad ? "pad" : "drop"));
        std::vector<int> seen(static_cast<size_t>(n), 0);
        std::vector<int64_t> order;
        for (int r = 0; r < w; ++r) {
          const dist::ShardSampler s(n, 2 * w, r, w, 4, remainder);
          order = s.epoch_order(1);
          const std::vector<int64_t> mine = s.indices(1);
          REQUIRE(static_cast<int64_t>(mine.size()) == s.shard_size());
          for (int64_t i : mine) ++seen[static_cast<size_t>(i)];
        }
        // Padding repeats the order from its start up to a multiple of w; dropping leaves out its last n mod w.
        const int64_t total = remainder == dist::Remainder::pad ? (n + w - 1) / w * w : n / w * w;
        for (int64_t p = 0; p < n; ++p) {
          int64_t expected = 0;
          for (int64_t q = p; q < total; q += n) ++expected;
          CHECK(seen[static_cast<size_t>(order[static_cast<size_t>(p)])] == expected);
        }
      }
    }
  }
  const dist::ShardSampler s(100, 8, 1, 2, 4);
  CHECK(s.indices(0) != s.indices(1));
  CHECK(s.indices(3) == s.indices(3));
  CHECK(s.indices(0) != dist::ShardSampler(100, 8, 1, 2, 5).indices(0));  // another seed, another order
  CHECK(s.local_batch() == 4);
  CHECK(s.steps_per_epoch() == 13);  // 50 samples a rank, 4 a step
}

TEST_CASE("ShardSampler: bad settings are refused", "[dist][sampler]") {
  CHECK_THROWS_WITH(dist::ShardSampler(100, 15, 0, 2, 1),
                    Catch::Contains("global batch size 15 does not divide among 2 ranks"));
  CHECK_THROWS_WITH(dist::ShardSampler(100, 0, 0, 1, 1), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(dist::ShardSampler(100, 4, 2, 2, 1), Catch::Contains("rank 2 out of range for world size 2"));
  CHECK_THROWS_WITH(dist::ShardSampler(0, 4, 0, 2, 1), Catch::Contains("empty"));
  CHECK_THROWS_WITH(dist::ShardSampler(3, 4, 0, 4, 1, dist::Remainder::drop), Catch::Contains("leaves none"));
  CHECK_THROWS_WITH(dist::ShardSampler(10, 4, 0, 2, 1).shard({1, 2, 3}), Catch::Contains("holds 3 indices"));
}

TEST_CASE("backend names; a single-process communicator without a launcher", "[dist]") {
  CHECK(dist::parse_backend("nccl") == dist::Backend::nccl);
  CHECK(dist::parse_backend("auto") == dist::Backend::automatic);
  CHECK_THROWS_WITH(dist::parse_backend("gloo"), Catch::Contains("unknown backend \"gloo\""));
  auto single = dist::init(dist::Backend::single);
  CHECK(single->world_size() == 1);
  Tensor t = Tensor::from<float>({2}, {1.f, 2.f});
  single->all_reduce(t, dist::ReduceOp::average);
  CHECK(t.to_vector<float>() == std::vector<float>{1.f, 2.f});
  if (!dist::built_with_nccl())
    CHECK_THROWS_WITH(dist::init(dist::Backend::nccl, Device::cuda(0)), Catch::Contains("built without NCCL"));
  CHECK_THROWS_WITH(dist::init(dist::Backend::nccl, Device::cpu()), Catch::Contains("needs a CUDA device"));
  if (!dist::launched_by_mpi()) {
    ::setenv("SLURM_STEP_NUM_TASKS", "4", 1);
    CHECK_THROWS_WITH(dist::init(), Catch::Contains("srun started 4 tasks without an MPI plugin"));
    ::unsetenv("SLURM_STEP_NUM_TASKS");
  }
}

int main(int argc, char** argv) {
  world_comm = dist::init();
  const int result = Catch::Session().run(argc, argv);
  // Every rank's verdict decides the exit code of each, so mpirun's reflects all of them.
  const double failed = world_comm->all_reduce(result != 0 ? 1.0 : 0.0, dist::ReduceOp::sum);
  if (world_comm->is_root() && failed > 0) std::fprintf(stderr, "dist tests failed on %g rank(s)\n", failed);
  world_comm.reset();
  dist::finalize();
  return failed > 0 ? 1 : 0;
}
