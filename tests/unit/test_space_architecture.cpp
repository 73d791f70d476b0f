#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "hpcnas/space/architecture.hpp"
#include "hpcnas/space/byte_stream.hpp"

using namespace hpcnas::space;

TEST_CASE("an architecture is either kind and parses its own text", "[space]") {
  const Architecture image = darts_v2();
  const Architecture cell = darts_v2_recurrent();
  CHECK_FALSE(image.is_recurrent());
  CHECK(cell.is_recurrent());
  CHECK(Architecture::parse(image.to_string()) == image);
  CHECK(Architecture::parse(cell.to_string()) == cell);
  CHECK(image != cell);
  CHECK_THROWS_AS(image.recurrent(), SpaceError);
  CHECK_THROWS_AS(cell.image(), SpaceError);
  CHECK_THROWS_AS(Architecture::parse("Genotype(recurrent=[('tanh', 1)], concat=[1])"), SpaceError);
}

TEST_CASE("the recurrent space's decisions are per node its input and activation", "[space]") {
  const SearchSpace space = SearchSpace::recurrent(3);
  CHECK(space.is_recurrent());
  CHECK(space.decisions() == 6);
  const std::vector<int> choices{1, 4, 2, 4, 3, 4};
  for (int p = 0; p < space.decisions(); ++p)
    CHECK(space.choices(p) == choices[static_cast<std::size_t>(p)]);
  CHECK(space.max_choices() == 4);
  CHECK(SearchSpace::recurrent(9).max_choices() == 9);
  CHECK(space.op_choices() == kCandidateActivations);
  CHECK_THROWS_AS(SearchSpace::recurrent(0), SpaceError);
  CHECK_THROWS_AS(SearchSpace::recurrent(kMaxRecurrentNodes + 1), SpaceError);

  std::mt19937_64 rng(4);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const Architecture a = space.sample(rng);
    REQUIRE(a.recurrent().nodes.size() == 3);
    const auto d = space.decisions_of(a);
    for (int p = 0; p < space.decisions(); ++p) {
      CHECK(d[static_cast<std::size_t>(p)] >= 0);
      CHECK(d[static_cast<std::size_t>(p)] < space.choices(p));
    }
    CHECK(space.from_decisions(d) == a);
    CHECK(space.decode(a.encode()) == a);
    const Architecture child = space.mutate(a, rng);
    CHECK(child != a);
    seen.insert(a.to_string());
  }
  CHECK(seen.size() > 100); // 1*4 * 2*4 * 3*4 = 384 cells

  // Another space's architecture is refused by name.
  CHECK_THROWS_WITH(space.decisions_of(darts_v2()), Catch::Contains("recurrent cells of 3"));
  CHECK_THROWS_WITH(space.decisions_of(darts_v2_recurrent()), Catch::Contains("8 nodes"));
  CHECK_THROWS_AS(SearchSpace::image().mutate(darts_v2_recurrent(), rng), SpaceError);
  CHECK_THROWS_AS(space.from_decisions({0, 0, 0}), SpaceError);
  CHECK_THROWS_AS(space.from_decisions({0, 0, 2, 0, 0, 0}), SpaceError); // node 2 reads node 2
}

TEST_CASE("the image space keeps the generator's draws of sample_genotype", "[space]") {
  std::mt19937_64 a(11), b(11);
  const SearchSpace space = SearchSpace::image();
  for (int i = 0; i < 20; ++i) {
    CHECK(space.sample(a) == Architecture(sample_genotype(b)));
    const Genotype parent = sample_genotype(b);
    a.seed(i);
    b.seed(i);
    CHECK(space.mutate(parent, a) == Architecture(mutate(parent, b)));
  }
  CHECK(space.decisions() == 32);
  CHECK(space.from_decisions(space.decisions_of(darts_v2())) == darts_v2());
}

TEST_CASE("byte streams carry both kinds, image genotypes as before", "[space]") {
  ByteWriter w;
  w.put_architecture(darts_v2());
  w.put_architecture(darts_v2_recurrent());
  const std::vector<char> bytes = w.take();
  // An image genotype is its 32 values, exactly what checkpoints held before recurrent cells.
  ByteWriter old;
  for (int v : darts_v2().encode())
    old.put(static_cast<std::int32_t>(v));
  const std::vector<char> old_bytes = old.take();
  CHECK(std::equal(old_bytes.begin(), old_bytes.end(), bytes.begin()));

  ByteReader r(bytes, "test");
  CHECK(r.get_architecture() == Architecture(darts_v2()));
  CHECK(r.get_architecture() == Architecture(darts_v2_recurrent()));
  CHECK(r.at_end());

  ByteWriter bad;
  bad.put(kRecurrentMark);
  bad.put(std::int32_t{0});
  const std::vector<char> bad_bytes = bad.take(); // a ByteReader keeps a reference
  ByteReader bad_reader(bad_bytes, "test");
  CHECK_THROWS_WITH(bad_reader.get_architecture(), Catch::Contains("0 nodes"));
}
