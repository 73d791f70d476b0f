// The recurrent supernet of `hpcnas darts --space rnn`: its mixed cell against the discrete
// cell, the DARTS rule for recurrent cells, and a search on a text folder that learns and
// resumes exactly.
#include <catch2/catch.hpp>

#include <vector>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/derive.hpp"
#include "hpcnas/darts/recurrent_supernet.hpp"
#include "hpcnas/darts/search.hpp"
#include "hpcnas/model/text_classifier.hpp"
#include "temp_dir.hpp"

using namespace hpcnas;
using space::Activation;

namespace {

/// Alpha rows of `nodes` nodes with `value` at each node's (input, activation) of `cell`.
std::vector<double> alpha_of(const space::RecurrentGenotype& cell, double value) {
  const int nodes = static_cast<int>(cell.nodes.size());
  std::vector<double> alpha(
      static_cast<std::size_t>(darts::recurrent_edges(nodes)) * darts::kRecurrentOps, 0.0);
  for (int i = 1; i <= nodes; ++i) {
    const auto& node = cell.nodes[static_cast<std::size_t>(i - 1)];
    const int row = i * (i - 1) / 2 + node.input;
    alpha[static_cast<std::size_t>(row * darts::kRecurrentOps + static_cast<int>(node.activation) -
                                   1)] = value; // column 0 is tanh
  }
  return alpha;
}

space::RecurrentGenotype three_nodes() {
  return {{{Activation::kRelu, 0}, {Activation::kSigmoid, 1}, {Activation::kIdentity, 0}}};
}

config::DartsConfig text_config(const TextFolder& folder) {
  config::DartsConfig cfg;
  cfg.space = "rnn";
  cfg.data.dataset = "text-folder";
  cfg.data.data_dir = folder.str();
  cfg.network.rnn_nodes = 3;
  cfg.network.embedding = 8;
  cfg.network.hidden = 8;
  cfg.learning_rate = 1;
  cfg.arch_learning_rate = 3e-3;
  cfg.batch_size = 8;
  cfg.epochs = 2;
  cfg.steps_per_epoch = 6;
  cfg.threads = 1;
  cfg.seed = 4;
  return cfg;
}

} // namespace

TEST_CASE("the mixed recurrent cell with one-hot weights is the discrete cell", "[darts][rnn]") {
  torch::manual_seed(1);
  darts::RecurrentSupernetOptions options;
  options.classifier = {20, 5, 6, 2};
  options.nodes = 3;
  darts::RecurrentSupernet net(options);
  const auto cell = three_nodes();
  model::RecurrentCell discrete(cell, 5, 6);
  {
    torch::NoGradGuard no_grad;
    const auto params = discrete->parameters();
    REQUIRE(params.size() == net->cell_weights().size());
    for (std::size_t i = 0; i < params.size(); ++i)
      params[i].copy_(net->cell_weights()[i]);
  }
  const auto one_hot = alpha_of(cell, 1.0);
  const auto weights = torch::tensor(one_hot)
                           .view({darts::recurrent_edges(3), darts::kRecurrentOps})
                           .to(torch::kFloat);
  const auto x = torch::randn({4, 5});
  const auto h = torch::randn({4, 6});
  const auto mixed = net->cell(x, h, weights);
  CHECK(torch::allclose(mixed, discrete(x, h), 1e-5, 1e-6));
  // Another activation on one node gives another cell: the comparison can fail.
  auto other = cell;
  other.nodes[1].activation = Activation::kTanh;
  const auto other_weights = torch::tensor(alpha_of(other, 1.0))
                                 .view({darts::recurrent_edges(3), darts::kRecurrentOps})
                                 .to(torch::kFloat);
  CHECK_FALSE(torch::allclose(net->cell(x, h, other_weights), discrete(x, h), 1e-5, 1e-6));
}

TEST_CASE("the supernet's logits reach alpha and ignore the padding", "[darts][rnn]") {
  torch::manual_seed(2);
  darts::RecurrentSupernetOptions options;
  options.classifier = {30, 4, 5, 3};
  options.nodes = 4;
  darts::RecurrentSupernet net(options);
  const auto tokens = torch::randint(1, 30, {3, 7}, torch::kLong);
  const auto lengths = torch::tensor(std::vector<std::int64_t>{7, 3, 1});
  const darts::Batch batch{tokens, torch::tensor(std::vector<std::int64_t>{0, 1, 2}), lengths};
  const auto logits = net->logits(batch);
  CHECK(logits.sizes() == torch::IntArrayRef({3, 3}));
  logits.sum().backward();
  const auto grad = net->arch_parameters()[0].grad();
  REQUIRE(grad.defined());
  CHECK(grad.abs().sum().item<double>() > 0);
  // Tokens past a text's length change nothing.
  auto padded = tokens.clone();
  padded.index_put_({1, torch::indexing::Slice(3)}, 5);
  torch::NoGradGuard no_grad;
  const darts::Batch changed{padded, batch.y, lengths};
  CHECK(torch::allclose(net->logits(changed), logits.detach()));
}

TEST_CASE("a node's softmax spans all its inputs and activations, and its largest is kept",
          "[darts][rnn]") {
  const auto cell = three_nodes();
  auto alpha = alpha_of(cell, 2.0);
  alpha[static_cast<std::size_t>(3 * darts::kRecurrentOps + 1)] = 1.5; // node 3: second best
  CHECK(darts::derive_recurrent(alpha, 3) == cell);
  CHECK(darts::derive_recurrent(alpha_of(space::darts_v2_recurrent(), 1.0), 8) ==
        space::darts_v2_recurrent());
  CHECK_THROWS_WITH(darts::derive_recurrent(alpha, 4), Catch::Contains("expected 40"));

  darts::RecurrentSupernetOptions options;
  options.classifier = {20, 5, 6, 2};
  options.nodes = 3;
  darts::RecurrentSupernet net(options);
  const auto w = net->mixing_weights(false)[0];
  REQUIRE(w.sizes() == torch::IntArrayRef({6, darts::kRecurrentOps}));
  // Node i's i rows sum to 1 together: rows 0, 1-2, 3-5.
  CHECK(w.narrow(0, 0, 1).sum().item<double>() == Approx(1.0));
  CHECK(w.narrow(0, 1, 2).sum().item<double>() == Approx(1.0));
  CHECK(w.narrow(0, 3, 3).sum().item<double>() == Approx(1.0));
  CHECK(w.requires_grad());
  CHECK_FALSE(net->mixing_weights(true)[0].requires_grad());
}

TEST_CASE("a recurrent DARTS search learns a text folder and resumes on the same trajectory",
          "[darts][rnn][resume]") {
  TextFolder folder;
  folder.write_two_topics();
  const auto cfg = text_config(folder);
  comm::SoloCollective solo;

  darts::DartsSearch whole(cfg, solo);
  const auto first = whole.run_epoch(0);
  const auto second = whole.run_epoch(1);
  CHECK(second.genotype.recurrent().nodes.size() == 3);
  CHECK(second.alpha_recurrent.size() == 6 * 4);
  CHECK(second.alpha_normal.empty());
  CHECK(second.alpha_recurrent != first.alpha_recurrent);
  CHECK(second.val_accuracy >= 0.75); // two topics of their own words

  darts::DartsSearch stopped(cfg, solo);
  stopped.run_epoch(0);
  const auto state = stopped.save_state();
  darts::DartsSearch resumed(cfg, solo);
  resumed.resume(state);
  const auto joined = resumed.run_epoch(1);
  CHECK(resumed.flat_weights() == whole.flat_weights());
  CHECK(resumed.flat_alphas() == whole.flat_alphas());
  CHECK(joined.alpha_recurrent == second.alpha_recurrent);
  CHECK(joined.val_loss == second.val_loss);

  // A state of another cell size is refused.
  auto larger = cfg;
  larger.network.rnn_nodes = 4;
  darts::DartsSearch other(larger, solo);
  CHECK_THROWS_WITH(other.resume(state), Catch::Contains("--rnn-nodes"));
}
