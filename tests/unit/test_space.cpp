#include <catch2/catch.hpp>

#include <set>

#include "hpcnas/space/genotype.hpp"

using namespace hpcnas::space;

namespace {
const std::string kDartsV2 =
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

std::string parse_error(const std::string& text) {
  try {
    Genotype::parse(text);
  } catch (const SpaceError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("DARTS_V2 text parses and prints back identically", "[space]") {
  const Genotype g = Genotype::parse(kDartsV2);
  CHECK(g.to_string() == kDartsV2);
  CHECK(g == darts_v2());
  CHECK(g.normal.edges[7].op == Op::kDilConv3x3);
  CHECK(g.normal.edges[7].input == 2);
  CHECK(g.reduce.edges[0].op == Op::kMaxPool3x3);
}

TEST_CASE("what DARTS search prints (range concat, double quotes) parses", "[space]") {
  std::string text = kDartsV2;
  text.replace(text.find("normal_concat=[2, 3, 4, 5]"), 26, "normal_concat=range(2, 6)");
  text.replace(text.find("reduce_concat=[2, 3, 4, 5]"), 26, "reduce_concat=range(2, 6)");
  CHECK(Genotype::parse(text) == darts_v2());
  CHECK(Genotype::parse("  " + kDartsV2 + "\n") == darts_v2());
}

TEST_CASE("random genotypes round-trip through encoding and text", "[space]") {
  std::mt19937_64 rng(7);
  std::set<std::vector<int>> distinct;
  for (int i = 0; i < 500; ++i) {
    const Genotype g = sample_genotype(rng);
    REQUIRE_NOTHROW(g.validate());
    const auto code = g.encode();
    REQUIRE(code.size() == static_cast<std::size_t>(kEncodingLength));
    CHECK(Genotype::decode(code) == g);
    CHECK(Genotype::parse(g.to_string()) == g);
    distinct.insert(code);
  }
  CHECK(distinct.size() == 500);
}

TEST_CASE("malformed text is rejected with what and where", "[space]") {
  CHECK_THAT(parse_error("Genotyp(normal=[])"),
             Catch::Contains("character 0") && Catch::Contains("expected 'Genotype'"));
  std::string bad_op = kDartsV2;
  bad_op.replace(bad_op.find("dil_conv_3x3"), 12, "dil_conv_7x7");
  CHECK_THAT(parse_error(bad_op),
             Catch::Contains("unknown operation 'dil_conv_7x7'") && Catch::Contains("character"));
  std::string bad_input = kDartsV2;
  bad_input.replace(bad_input.find("('dil_conv_3x3', 2)"), 19, "('dil_conv_3x3', 5)");
  CHECK_THAT(parse_error(bad_input),
             Catch::Contains("normal edge 7") && Catch::Contains("input 5"));
  std::string short_cell = kDartsV2;
  short_cell.replace(short_cell.find(", ('dil_conv_3x3', 2)"), 21, "");
  CHECK_THAT(parse_error(short_cell),
             Catch::Contains("has 7 edges") && Catch::Contains("exactly 8"));
  std::string bad_concat = kDartsV2;
  bad_concat.replace(bad_concat.find("normal_concat=[2, 3, 4, 5]"), 26, "normal_concat=[2, 3]");
  CHECK_THAT(parse_error(bad_concat), Catch::Contains("normal_concat"));
  CHECK_THAT(parse_error(kDartsV2 + " trailing"), Catch::Contains("after the closing"));
  std::string with_none = kDartsV2;
  with_none.replace(with_none.find("skip_connect"), 12, "none");
  CHECK_THAT(parse_error(with_none), Catch::Contains("'none'"));
}

TEST_CASE("decode rejects bad encodings", "[space]") {
  auto code = darts_v2().encode();
  CHECK_THROWS_AS(Genotype::decode(std::vector<int>(code.begin(), code.end() - 1)), SpaceError);
  code[1] = kCandidateOps;
  CHECK_THROWS_WITH(Genotype::decode(code), Catch::Contains("position 1"));
  code = darts_v2().encode();
  code[0] = 2; // node 0 can only read inputs 0 and 1
  CHECK_THROWS_WITH(Genotype::decode(code), Catch::Contains("input 2"));
}

TEST_CASE("a mutation is valid and differs from its parent in one edge", "[space]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const Genotype parent = sample_genotype(rng);
    const Genotype child = mutate(parent, rng);
    REQUIRE_NOTHROW(child.validate());
    REQUIRE(child != parent);
    const auto a = parent.encode(), b = child.encode();
    int changed = 0;
    for (std::size_t k = 0; k < a.size(); ++k)
      changed += a[k] != b[k];
    REQUIRE(changed == 1);
  }
}
