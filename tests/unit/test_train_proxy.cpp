#include <catch2/catch.hpp>

#include <cmath>

#include "hpcnas/data/dataset.hpp"
#include "hpcnas/train/prefilter.hpp"
#include "hpcnas/train/proxy.hpp"
#include "hpcnas/train/trainer.hpp"

using namespace hpcnas;

namespace {

model::NetworkOptions small_network() {
  model::NetworkOptions o;
  o.channels = 4;
  o.layers = 3;
  return o;
}

space::Genotype uniform_cells(space::Op op) {
  space::Genotype g;
  for (space::Cell* cell : {&g.normal, &g.reduce})
    for (int e = 0; e < space::kEdgesPerCell; ++e)
      cell->edges[e] = {op, e % 2};
  return g;
}

} // namespace

TEST_CASE("kendall tau counts concordant and discordant pairs", "[train][proxy]") {
  CHECK(train::kendall_tau({1, 2, 3, 4}, {10, 20, 30, 40}) == Approx(1.0));
  CHECK(train::kendall_tau({1, 2, 3, 4}, {4, 3, 2, 1}) == Approx(-1.0));
  // 6 pairs: 2 concordant, 4 discordant; then 5 and 1.
  CHECK(train::kendall_tau({1, 2, 3, 4}, {1, 3, 2, 0.5}) == Approx(-1.0 / 3));
  CHECK(train::kendall_tau({1, 2, 3, 4}, {1, 3, 2, 4}) == Approx(2.0 / 3));
  CHECK(train::kendall_tau({1, 2, 3}, {1, 3, 2}) == Approx(1.0 / 3));
  CHECK(std::isnan(train::kendall_tau({1, 1, 1}, {1, 2, 3})));
  CHECK_THROWS(train::kendall_tau({1, 2}, {1}));
}

TEST_CASE("synflow is reproducible, leaves the global generator alone, and ranks a "
          "convolution cell above a pooling cell",
          "[train][proxy]") {
  const auto convs = uniform_cells(space::Op::kSepConv3x3);
  const auto pools = uniform_cells(space::Op::kMaxPool3x3);
  torch::manual_seed(5);
  const torch::Tensor before = torch::rand({3});
  torch::manual_seed(5);
  const double a = train::synflow_score(convs, small_network(), {1, 28, 28}, 1);
  const torch::Tensor after = torch::rand({3});
  CHECK(torch::equal(before, after));
  CHECK(std::isfinite(a));
  CHECK(train::synflow_score(convs, small_network(), {1, 28, 28}, 1) == a);
  CHECK(a > train::synflow_score(pools, small_network(), {1, 28, 28}, 1));
  CHECK_THROWS(train::synflow_score(convs, small_network(), {28, 28}, 1));
}

TEST_CASE("naswot depends on the batch as a set and falls when images coincide", "[train][proxy]") {
  const auto g = uniform_cells(space::Op::kSepConv3x3);
  torch::manual_seed(3);
  const torch::Tensor images = torch::randn({8, 1, 28, 28});
  const double score = train::naswot_score(g, small_network(), images, 2);
  CHECK(std::isfinite(score));
  // The same images in another order: K is permuted, its determinant unchanged.
  const torch::Tensor order = torch::tensor({3, 1, 7, 0, 2, 6, 5, 4}, torch::kInt64);
  CHECK(train::naswot_score(g, small_network(), images.index_select(0, order), 2) ==
        Approx(score).epsilon(1e-9));
  // Two identical images share a code: K is singular.
  torch::Tensor twins = images.clone();
  twins[1] = images[0];
  CHECK(train::naswot_score(g, small_network(), twins, 2) < score);
  CHECK(train::proxy_score("naswot", g, small_network(), images, 2) == score);
  CHECK_THROWS_WITH(train::proxy_score("snip", g, small_network(), images, 2),
                    Catch::Contains("unknown proxy 'snip'"));
}

TEST_CASE("the prefilter's scorer is the proxy of the run's child network, on one thread",
          "[train][proxy]") {
  config::SearchConfig cfg;
  cfg.seed = 3;
  cfg.data.dataset = "synthetic";
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.prefilter.proxy = "naswot";
  cfg.prefilter.batch = 6;
  const auto score = train::make_proxy_scorer(cfg);
  const auto convs = uniform_cells(space::Op::kSepConv3x3);

  const data::DataSplits splits = data::load_splits(cfg.data);
  torch::set_num_threads(1);
  const double expected = train::naswot_score(
      convs, train::child_network_options(cfg.network, splits.channels, splits.num_classes),
      splits.train.images.narrow(0, 0, 6), train::evaluation_seed(cfg.seed, -7));
  torch::set_num_threads(2);
  CHECK(score(convs) == expected);
  CHECK(torch::get_num_threads() == 2); // as it was before the call
  CHECK(score(convs) == expected);

  cfg.prefilter.proxy = "synflow";
  const auto synflow = train::make_proxy_scorer(cfg);
  torch::set_num_threads(1);
  const double expected_synflow = train::synflow_score(
      convs, train::child_network_options(cfg.network, splits.channels, splits.num_classes),
      {splits.channels, splits.height, splits.width}, train::evaluation_seed(cfg.seed, -7));
  torch::set_num_threads(2);
  CHECK(synflow(convs) == expected_synflow);
}
