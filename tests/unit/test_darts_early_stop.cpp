#include <catch2/catch.hpp>

#include <random>

#include "hpcnas/darts/early_stop.hpp"

using hpcnas::darts::EarlyStop;
using hpcnas::space::Genotype;
using hpcnas::space::sample_genotype;

TEST_CASE("DARTS+ stops once the normal cell has the given number of skip connections",
          "[darts]") {
  std::mt19937_64 rng(1);
  EarlyStop stop(2, 0);
  CHECK(stop.after_epoch(sample_genotype(rng), 0).empty());
  CHECK(stop.after_epoch(sample_genotype(rng), 1).empty());
  const std::string why = stop.after_epoch(sample_genotype(rng), 2);
  CHECK_THAT(why, Catch::Contains("2 skip connections") && Catch::Contains("--stop-skips 2"));
  CHECK(EarlyStop(0, 0).after_epoch(sample_genotype(rng), 8).empty()); // off
  CHECK_THAT(EarlyStop(1, 0).after_epoch(sample_genotype(rng), 1),
             Catch::Contains("1 skip connection (--stop-skips 1)"));
}

TEST_CASE("DARTS+ stops once the derived genotype is unchanged for the given epochs", "[darts]") {
  std::mt19937_64 rng(2);
  const Genotype a = sample_genotype(rng);
  Genotype b = sample_genotype(rng);
  while (b.to_string() == a.to_string())
    b = sample_genotype(rng);
  EarlyStop stop(0, 2);
  CHECK(stop.after_epoch(a, 0).empty());
  CHECK(stop.after_epoch(a, 0).empty()); // unchanged once
  CHECK(stop.after_epoch(b, 0).empty()); // a change restarts the count
  CHECK(stop.after_epoch(b, 0).empty());
  CHECK_THAT(stop.after_epoch(b, 0), Catch::Contains("not changed for 2 epochs"));
}
