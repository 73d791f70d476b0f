#include <catch2/catch.hpp>

#include "hpcnas/comm/pool.hpp"

using namespace hpcnas;

TEST_CASE("protocol messages round-trip", "[comm]") {
  const train::EvalRequest request{41, 0xDEADBEEFCAFEULL, space::darts_v2()};
  const auto back = comm::unpack_request(comm::pack_request(request));
  CHECK(back.id == 41);
  CHECK(back.seed == request.seed);
  CHECK(back.genotype == request.genotype);

  train::EvalResult result;
  result.id = 7;
  result.genotype = space::darts_v2();
  result.status = train::EvalStatus::kTimeout;
  result.reward = 0.25;
  result.val_accuracy = 0.5;
  result.params = 123456;
  result.flops = 987654321;
  result.latency_ms = 3.5;
  result.train_seconds = 12.5;
  result.rank = 3;
  result.started = 1700000000.25;
  result.finished = 1700000012.75;
  result.message = "ran past --eval-timeout";
  const auto r = comm::unpack_result(comm::pack_result(result));
  CHECK(r.id == 7);
  CHECK(r.genotype == result.genotype);
  CHECK(r.status == result.status);
  CHECK(r.reward == 0.25);
  CHECK(r.val_accuracy == 0.5);
  CHECK(r.params == 123456);
  CHECK(r.flops == 987654321);
  CHECK(r.latency_ms == 3.5);
  CHECK(r.train_seconds == 12.5);
  CHECK(r.rank == 3);
  CHECK(r.started == result.started);
  CHECK(r.finished == result.finished);
  CHECK(r.message == result.message);
}

TEST_CASE("a truncated message is an error, not garbage", "[comm]") {
  auto bytes = comm::pack_request({1, 2, space::darts_v2()});
  bytes.resize(bytes.size() - 1);
  CHECK_THROWS_WITH(comm::unpack_request(bytes), Catch::Contains("truncated"));
}

TEST_CASE("protocol messages carry recurrent cells", "[comm]") {
  const train::EvalRequest request{3, 9, space::darts_v2_recurrent()};
  CHECK(comm::unpack_request(comm::pack_request(request)).genotype == request.genotype);
  train::EvalResult result;
  result.genotype = space::darts_v2_recurrent();
  result.message = "ok";
  const auto r = comm::unpack_result(comm::pack_result(result));
  CHECK(r.genotype == result.genotype);
  CHECK(r.message == "ok");
}
