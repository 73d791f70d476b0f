#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "hpcnas/config/options.hpp"

using namespace hpcnas::config;

namespace {
std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_search(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string resolved(const Parsed<SearchConfig>& p, const std::string& name) {
  for (const auto& [k, v] : p.resolved)
    if (k == name)
      return v;
  return "<missing>";
}
} // namespace

TEST_CASE("defaults and command-line values", "[config]") {
  const auto p = parse_search({"--budget", "7", "--dataset", "synthetic", "--channels", "8"});
  CHECK_FALSE(p.help);
  CHECK(p.config.budget == 7);
  CHECK(p.config.data.dataset == "synthetic");
  CHECK(p.config.network.channels == 8);
  CHECK(p.config.network.layers == 8);
  CHECK(p.config.strategy == "random");
  CHECK(resolved(p, "budget") == "7");
  CHECK(resolved(p, "layers") == "8");
  CHECK(resolved(p, "lr") == "0.025");
}

TEST_CASE("--help lists every option with its default", "[config]") {
  const auto p = parse_search({"--help"});
  CHECK(p.help);
  for (const char* option :
       {"--strategy", "--budget", "--seed", "--out", "--dataset", "--val-size", "--train-subset",
        "--epochs", "--eval-timeout", "--reward", "--surrogate-seconds", "--config"})
    CHECK_THAT(p.help_text, Catch::Contains(option));
  CHECK_THAT(p.help_text, Catch::Contains("(=20)")); // the budget's default
}

TEST_CASE("INI config file, command line wins", "[config]") {
  const std::string path = "hpcnas_test_config.ini";
  {
    std::ofstream ini(path);
    ini << "budget = 11\nepochs = 3\ndataset = synthetic\n";
  }
  const auto p = parse_search({"--config", path, "--budget", "5"});
  CHECK(p.config.budget == 5);
  CHECK(p.config.train.epochs == 3);
  CHECK(p.config.data.dataset == "synthetic");
  std::remove(path.c_str());
  CHECK_THAT(error_of({"--config", "does-not-exist.ini"}), Catch::Contains("does-not-exist.ini"));
}

TEST_CASE("bad input gets one line naming the option", "[config]") {
  CHECK_THAT(error_of({"--bugdet", "3"}), Catch::Contains("bugdet"));
  CHECK_THAT(error_of({"--budget", "many"}), Catch::Contains("budget"));
  CHECK_THAT(error_of({"--budget", "0"}), Catch::Contains("--budget must be at least 1"));
  CHECK_THAT(error_of({"--strategy", "magic"}), Catch::Contains("--strategy 'magic'"));
  CHECK_THAT(error_of({"--dataset", "imagenet"}), Catch::Contains("--dataset"));
  CHECK_THAT(error_of({"--epochs", "0"}), Catch::Contains("--epochs"));
  CHECK_THAT(error_of({"--fail-ids", "1,x"}), Catch::Contains("--fail-ids"));
  for (const auto& message : {error_of({"--bugdet"}), error_of({"--budget", "-1"})})
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("id lists", "[config]") {
  CHECK(parse_id_list("") == std::vector<long long>{});
  CHECK(parse_id_list("3,0,12") == std::vector<long long>{3, 0, 12});
  CHECK_THROWS_AS(parse_id_list("-1"), ConfigError);
}

TEST_CASE("bench options", "[config]") {
  const auto p = parse_bench({"--batch-size", "32", "--input", "3x32x32"});
  CHECK(p.config.batch_size == 32);
  CHECK(p.config.input == "3x32x32");
  CHECK_THROWS_AS(parse_bench({"--what", "supernet"}), ConfigError);
}
