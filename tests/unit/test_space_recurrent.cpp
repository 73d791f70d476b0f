#include <random>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "hpcnas/space/recurrent.hpp"

using hpcnas::space::Activation;
using hpcnas::space::RecurrentGenotype;
using hpcnas::space::SpaceError;

namespace {

// What the DARTS code prints for its DARTS_V2 recurrent cell.
constexpr const char* kDartsV2Text =
    "Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), "
    "('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))";

std::string parse_error(const std::string& text) {
  try {
    RecurrentGenotype::parse(text);
  } catch (const SpaceError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("DARTS_V2's recurrent cell reads and prints as the DARTS code prints it", "[space]") {
  const RecurrentGenotype g = hpcnas::space::darts_v2_recurrent();
  REQUIRE(g.nodes.size() == 8);
  CHECK(g.nodes[0] == hpcnas::space::RecurrentNode{Activation::kSigmoid, 0});
  CHECK(g.nodes[5] == hpcnas::space::RecurrentNode{Activation::kSigmoid, 5});
  CHECK(g.to_string() == kDartsV2Text);
  // The concat as a list, double quotes and other spacing mean the same cell.
  CHECK(RecurrentGenotype::parse(
            "Genotype( recurrent = [(\"sigmoid\",0),('relu',1),('relu',1),('identity',1),"
            "('tanh',2),('sigmoid',5),('tanh',3),('relu',5)], concat=[1,2,3,4,5,6,7,8] )") == g);
  CHECK(RecurrentGenotype::parse(
            "Genotype(concat=range(1, 9), recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), "
            "('identity', 1), ('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)])") == g);
}

TEST_CASE("random cells of any size round-trip through text and encoding", "[space]") {
  std::mt19937_64 rng(5);
  for (int nodes : {1, 2, 8, 12}) {
    for (int i = 0; i < 200; ++i) {
      const RecurrentGenotype g = hpcnas::space::sample_recurrent(nodes, rng);
      REQUIRE(g.nodes.size() == static_cast<std::size_t>(nodes));
      REQUIRE_NOTHROW(g.validate());
      REQUIRE(RecurrentGenotype::parse(g.to_string()) == g);
      const auto code = g.encode();
      REQUIRE(code.size() == static_cast<std::size_t>(2 * nodes));
      REQUIRE(RecurrentGenotype::decode(code) == g);
    }
  }
}

TEST_CASE("sampling reaches every input and activation of every node", "[space]") {
  std::mt19937_64 rng(9);
  std::vector<std::set<int>> inputs(8), activations(8);
  for (int i = 0; i < 2000; ++i) {
    const RecurrentGenotype g = hpcnas::space::sample_recurrent(8, rng);
    for (int n = 0; n < 8; ++n) {
      inputs[n].insert(g.nodes[n].input);
      activations[n].insert(static_cast<int>(g.nodes[n].activation));
    }
  }
  for (int n = 0; n < 8; ++n) {
    CHECK(inputs[n].size() == static_cast<std::size_t>(n + 1));
    CHECK(activations[n] == std::set<int>{1, 2, 3, 4});
  }
}

TEST_CASE("a mutation changes exactly one decision and stays valid", "[space]") {
  std::mt19937_64 rng(3);
  RecurrentGenotype g = hpcnas::space::sample_recurrent(8, rng);
  for (int i = 0; i < 500; ++i) {
    const RecurrentGenotype child = hpcnas::space::mutate(g, rng);
    REQUIRE_NOTHROW(child.validate());
    const auto a = g.encode();
    const auto b = child.encode();
    int changed = 0;
    for (std::size_t k = 0; k < a.size(); ++k)
      changed += a[k] != b[k];
    REQUIRE(changed == 1);
    g = child;
  }
  // A one-node cell can only change its activation.
  const RecurrentGenotype one = hpcnas::space::sample_recurrent(1, rng);
  for (int i = 0; i < 20; ++i) {
    const RecurrentGenotype child = hpcnas::space::mutate(one, rng);
    CHECK(child.nodes[0].input == 0);
    CHECK(child.nodes[0].activation != one.nodes[0].activation);
  }
}

TEST_CASE("bad recurrent genotypes are refused with what and where", "[space]") {
  using Catch::Matchers::Contains;
  CHECK_THAT(parse_error("Genotype(recurrent=[('tanh', 0), ('gelu', 1)], concat=range(1, 3))"),
             Contains("unknown activation 'gelu'") && Contains("character 34"));
  CHECK_THAT(parse_error("Genotype(recurrent=[('tanh', 0), ('relu', 2)], concat=range(1, 3))"),
             Contains("node 2: input 2 is not an earlier node (allowed 0..1)"));
  CHECK_THAT(parse_error("Genotype(recurrent=[('tanh', 0), ('relu', 1)], concat=range(1, 2))"),
             Contains("'concat' must be range(1, 3)"));
  CHECK_THAT(parse_error("Genotype(recurrent=[('none', 0)], concat=range(1, 2))"),
             Contains("'none' is only allowed in a supernet"));
  CHECK_THAT(parse_error("Genotype(recurrent=[], concat=[])"), Contains("1 to 64 nodes, not 0"));
  CHECK_THAT(parse_error("Genotype(recurrent=[('tanh', 0)], normal=[], concat=range(1, 2))"),
             Contains("unknown field 'normal'"));
  CHECK_THAT(parse_error("Genotype(recurrent=[('tanh', 0)], concat=range(1, 2)) x"),
             Contains("unexpected text"));
  // The image cell's text is not a recurrent genotype.
  CHECK_THAT(parse_error(hpcnas::space::darts_v2().to_string()), Contains("unknown field"));
  CHECK_THROWS_AS(RecurrentGenotype::decode({0, 4}), SpaceError);
  CHECK_THROWS_AS(RecurrentGenotype::decode({0, 1, 0}), SpaceError);
  CHECK_THROWS_AS(RecurrentGenotype::decode({1, 0}), SpaceError);
}
