#include <random>
#include <string>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "hpcnas/model/text_classifier.hpp"
#include "hpcnas/space/recurrent.hpp"

using hpcnas::model::RecurrentCell;
using hpcnas::model::TextClassifier;
using hpcnas::model::TextClassifierOptions;
using hpcnas::space::RecurrentGenotype;

namespace {

TextClassifierOptions small_options() {
  TextClassifierOptions o;
  o.vocabulary = 20;
  o.embedding = 8;
  o.hidden = 12;
  o.num_classes = 2;
  return o;
}

/// Texts of 3 to 12 tokens (ids 2..19, right-padded with 0 to 12): class 1 holds token 7
/// somewhere, class 0 does not.
std::pair<torch::Tensor, torch::Tensor> keyword_task(int n, std::mt19937_64& rng,
                                                     torch::Tensor& labels) {
  auto tokens = torch::zeros({n, 12}, torch::kLong);
  auto lengths = torch::zeros({n}, torch::kLong);
  labels = torch::zeros({n}, torch::kLong);
  for (int i = 0; i < n; ++i) {
    const int length = std::uniform_int_distribution<int>(3, 12)(rng);
    const bool keyword = i % 2 == 1;
    for (int t = 0; t < length; ++t) {
      int token = std::uniform_int_distribution<int>(2, 18)(rng);
      token += token >= 7; // never 7 by chance: 2..6, 8..19
      tokens[i][t] = token;
    }
    if (keyword)
      tokens[i][std::uniform_int_distribution<int>(0, length - 1)(rng)] = 7;
    lengths[i] = length;
    labels[i] = keyword ? 1 : 0;
  }
  return {tokens, lengths};
}

double train_and_score(TextClassifier& model) {
  torch::manual_seed(1);
  std::mt19937_64 rng(2);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(0.02));
  torch::Tensor labels;
  for (int step = 0; step < 150; ++step) {
    const auto [tokens, lengths] = keyword_task(32, rng, labels);
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(tokens, lengths), labels).backward();
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  const auto [tokens, lengths] = keyword_task(400, rng, labels);
  return model->forward(tokens, lengths)
      .argmax(1)
      .eq(labels)
      .to(torch::kFloat)
      .mean()
      .item<double>();
}

} // namespace

TEST_CASE("a recurrent cell computes DARTS's highway equations", "[model]") {
  torch::manual_seed(0);
  // Node 1: sigmoid of node 0; node 2: identity of node 0.
  const auto genotype =
      RecurrentGenotype::parse("Genotype(recurrent=[('sigmoid', 0), ('identity', 0)], "
                               "concat=range(1, 3))");
  RecurrentCell cell(genotype, 3, 4);
  const auto x = torch::randn({2, 3});
  const auto h = torch::randn({2, 4});
  const auto params = cell->named_parameters();
  const auto w0 = params["w0"], w1 = params["w1"], w2 = params["w2"];
  const auto node = [](const torch::Tensor& s, const torch::Tensor& w, auto f) {
    const auto gate = torch::sigmoid(s.mm(w).narrow(1, 0, 4));
    return s + gate * (f(s.mm(w).narrow(1, 4, 4)) - s);
  };
  const auto gate0 = torch::sigmoid(torch::cat({x, h}, 1).mm(w0).narrow(1, 0, 4));
  const auto s0 = h + gate0 * (torch::tanh(torch::cat({x, h}, 1).mm(w0).narrow(1, 4, 4)) - h);
  const auto s1 = node(s0, w1, [](const torch::Tensor& v) { return torch::sigmoid(v); });
  const auto s2 = node(s0, w2, [](const torch::Tensor& v) { return v; });
  REQUIRE(torch::allclose(cell(x, h), (s1 + s2) / 2, 1e-6, 1e-6));
  REQUIRE(w0.sizes() == torch::IntArrayRef({7, 8}));
  REQUIRE(w1.sizes() == torch::IntArrayRef({4, 8}));
}

TEST_CASE("a text's logits do not depend on the padding after it", "[model]") {
  torch::manual_seed(3);
  TextClassifier model(hpcnas::space::darts_v2_recurrent(), small_options());
  TextClassifier lstm("lstm", small_options());
  const auto short_batch = torch::tensor({{4, 9, 3, 0}, {5, 6, 0, 0}}, torch::kLong);
  const auto long_batch =
      torch::tensor({{4, 9, 3, 0, 0, 0, 0}, {5, 6, 11, 12, 13, 14, 15}}, torch::kLong);
  const auto lengths = torch::tensor({3, 2}, torch::kLong);
  for (TextClassifier* m : {&model, &lstm})
    REQUIRE(torch::allclose((*m)(short_batch, lengths), (*m)(long_batch, lengths), 1e-6, 1e-6));
}

TEST_CASE("the DARTS_V2 cell, an LSTM and a GRU learn a keyword task", "[model]") {
  torch::manual_seed(5);
  TextClassifier cell(hpcnas::space::darts_v2_recurrent(), small_options());
  TextClassifier lstm("lstm", small_options());
  TextClassifier gru("gru", small_options());
  CHECK(train_and_score(cell) > 0.95);
  CHECK(train_and_score(lstm) > 0.95);
  CHECK(train_and_score(gru) > 0.95);
}

TEST_CASE("a text classifier refuses an unknown baseline and bad sizes", "[model]") {
  CHECK_THROWS_AS(TextClassifier("rnn", small_options()), std::invalid_argument);
  TextClassifierOptions one_class = small_options();
  one_class.num_classes = 1;
  CHECK_THROWS_AS(TextClassifier("gru", one_class), std::invalid_argument);
}
