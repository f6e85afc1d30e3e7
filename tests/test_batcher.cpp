// BatchLoader and shuffling: batches hold the right rows in the given order, targets are one-hot,
// the shuffle is a seeded permutation, and an abandoned loader stops cleanly.
#include <catch2/catch.hpp>
#include <algorithm>
#include <numeric>

#include "timbre/data/batcher.h"

using namespace timbre;

namespace {
// n patches of shape (2, 3, 1), every value of patch i equal to i; label i % 3.
data::PatchDataset numbered(int64_t n) {
  data::PatchDataset ds;
  std::vector<float> values;
  for (int64_t i = 0; i < n; ++i) {
    values.insert(values.end(), 6, static_cast<float>(i));
    ds.labels.push_back(static_cast<int32_t>(i % 3));
    ds.songs.push_back(static_cast<int32_t>(i / 2));
  }
  ds.patches = Tensor::from<float>({n, 2, 3, 1}, values);
  ds.class_names = {"a", "b", "c"};
  for (int64_t s = 0; s < (n + 1) / 2; ++s) ds.song_names.push_back("song" + std::to_string(s));
  ds.validate("numbered");
  return ds;
}
}  // namespace

TEST_CASE("BatchLoader gathers the rows in order, with one-hot targets", "[batcher]") {
  const data::PatchDataset ds = numbered(10);
  const std::vector<int64_t> order = {7, 2, 9, 0, 5, 1, 3, 8, 6, 4};
  data::BatchLoader loader(ds, order, 4);
  CHECK(loader.batch_count() == 3);
  size_t at = 0;
  std::vector<int64_t> sizes;
  while (auto b = loader.next()) {
    const int64_t rows = b->inputs.dim(0);
    sizes.push_back(rows);
    CHECK(b->inputs.shape() == Shape{rows, 2, 3, 1});
    CHECK(b->targets.shape() == Shape{rows, 3});
    const auto x = b->inputs.to_vector<float>();
    const auto t = b->targets.to_vector<float>();
    for (int64_t r = 0; r < rows; ++r, ++at) {
      const int64_t i = order[at];
      CHECK(b->indices[static_cast<size_t>(r)] == i);
      CHECK(b->labels[static_cast<size_t>(r)] == i % 3);
      for (int k = 0; k < 6; ++k) CHECK(x[static_cast<size_t>(r * 6 + k)] == static_cast<float>(i));
      for (int c = 0; c < 3; ++c) CHECK(t[static_cast<size_t>(r * 3 + c)] == (c == i % 3 ? 1.f : 0.f));
    }
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK_FALSE(loader.next().has_value());
}

TEST_CASE("BatchLoader stops cleanly when abandoned, and rejects bad settings", "[batcher][bad-input]") {
  const data::PatchDataset ds = numbered(50);
  std::vector<int64_t> order(50);
  std::iota(order.begin(), order.end(), 0);
  {
    data::BatchLoader loader(ds, order, 3);
    CHECK(loader.next().has_value());
  }  // destroyed with batches pending: must not hang
  CHECK_THROWS_WITH(data::BatchLoader(ds, order, 0), Catch::Contains("batch size"));
  CHECK_THROWS_WITH(data::BatchLoader(ds, {0, 50}, 4), Catch::Contains("index 50"));
}

TEST_CASE("shuffled_indices is a seeded permutation", "[batcher]") {
  Generator g1(7), g2(7), g3(8);
  const auto a = data::shuffled_indices(100, g1), b = data::shuffled_indices(100, g2), c = data::shuffled_indices(100, g3);
  CHECK(a == b);
  CHECK(a != c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> expected(100);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(sorted == expected);
  CHECK(a != expected);
  // The next epoch's order differs (the generator moved on).
  CHECK(data::shuffled_indices(100, g1) != a);
  CHECK(data::shuffled_indices(0, g1).empty());
}
