// Dropout: inverted scaling, identity at inference, reproducible masks, gradient check.
#include <catch2/catch.hpp>

#include "gradcheck.h"

using namespace timbre;
using timbre::testing::gradcheck;
using timbre::testing::random_tensor;

TEST_CASE("dropout keeps about 1-rate of the units and scales them", "[dropout]") {
  Tensor x = Tensor::ones({100000});
  const auto y = ops::dropout(x, 0.3, 42, true).to_vector<float>();
  int64_t kept = 0;
  for (float v : y) {
    REQUIRE((v == 0.f || v == Approx(1 / 0.7f)));
    kept += v != 0.f;
  }
  CHECK(kept / 100000.0 == Approx(0.7).margin(0.01));
  CHECK(ops::dropout(x, 0.3, 42, true).to_vector<float>() == y);  // same seed, same mask
  CHECK(ops::dropout(x, 0.3, 43, true).to_vector<float>() != y);
  CHECK(ops::dropout(x, 0.3, 42, false).to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("gradcheck dropout", "[gradcheck][dropout]") {
  auto r = gradcheck([](auto& in) { return ops::dropout(in[0], 0.4, 7, true); },
                     {random_tensor({6, 9}, 1).set_requires_grad()});
  INFO(r.report);
  CHECK(r.ok);
  auto ri = gradcheck([](auto& in) { return ops::dropout(in[0], 0.4, 7, false); },
                      {random_tensor({6, 9}, 2).set_requires_grad()});
  INFO(ri.report);
  CHECK(ri.ok);
}

TEST_CASE("dropout rejects a bad rate", "[dropout][errors]") {
  CHECK_THROWS_WITH(ops::dropout(Tensor::ones({3}), 1.0, 1, true), Catch::Contains("dropout") &&
                                                                       Catch::Contains("[0, 1)"));
  CHECK_THROWS_WITH(nn::Dropout(-0.1), Catch::Contains("Dropout"));
}
