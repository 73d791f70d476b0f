#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include "hpcnas/app/report.hpp"

using namespace hpcnas;
using app::ReportSection;
using app::ReportTable;

namespace {

/// Evaluation `id` with the given reward (= accuracy), latency and parameters, received at
/// `hour` hours into the run.
store::EvaluationRow row(std::int64_t id, double reward, double latency, std::int64_t params,
                         double hour, train::EvalStatus status = train::EvalStatus::kOk) {
  store::EvaluationRow r;
  r.result.id = id;
  r.result.status = status;
  r.result.reward = status == train::EvalStatus::kOk ? reward : 0;
  r.result.val_accuracy = r.result.reward;
  r.result.latency_ms = latency;
  r.result.params = params;
  std::mt19937_64 rng(static_cast<std::uint64_t>(id));
  r.result.genotype = space::sample_genotype(rng);
  if (status != train::EvalStatus::kOk)
    r.result.message = "failure of " + std::to_string(id);
  r.timing.dispatched = 1000.0 + 3600.0 * hour - 1;
  r.timing.received = 1000.0 + 3600.0 * hour;
  return r;
}

const ReportTable& table(const ReportSection& s, const std::string& name) {
  for (const auto& t : s.tables)
    if (t.name == name)
      return t;
  FAIL("no table " << name);
  throw;
}

std::string fact(const ReportSection& s, const std::string& key) {
  for (const auto& [k, v] : s.facts)
    if (k == key)
      return v.text;
  FAIL("no fact " << key);
  return "";
}

app::RunFacts facts(const std::string& strategy) {
  app::RunFacts f;
  f.command_line = "hpcnas search --strategy " + strategy;
  f.config = {{"strategy", strategy}, {"evaluator", "surrogate"}, {"budget", "6"}};
  return f;
}

} // namespace

TEST_CASE("the Pareto front keeps exactly the points nothing cheaper beats", "[app][report]") {
  //                              0    1    2    3    4    5
  const std::vector<double> acc{0.90, 0.80, 0.95, 0.85, 0.95, 0.70};
  const std::vector<double> cost{5.0, 1.0, 9.0, 5.0, 12.0, 0.5};
  // 5 (cheapest), 1, 0 (beats 3 at equal cost), 2; 4 is as good as 2 but dearer.
  CHECK(app::pareto_front(acc, cost) == std::vector<std::size_t>{5, 1, 0, 2});
  CHECK(app::pareto_front({}, {}).empty());
}

TEST_CASE("a search file's report: best genotypes, statuses, fronts", "[app][report]") {
  using train::EvalStatus;
  const std::vector<store::EvaluationRow> rows{
      row(0, 0.80, 2.0, 300, 0.1), row(1, 0.0, 1.0, 100, 0.2, EvalStatus::kDiverged),
      row(2, 0.90, 3.0, 200, 0.3), row(3, 0.85, 1.5, 500, 0.4),
      row(4, 0.0, 1.0, 100, 0.5, EvalStatus::kError), row(5, 0.0, 1.0, 100, 0.6, EvalStatus::kError)};
  const ReportSection s = app::report_search("a.h5", facts("rl"), rows, 2);
  CHECK(fact(s, "evaluations") == "6");
  CHECK(fact(s, "strategy") == "rl");
  // 6 rows over 0.5 h (first dispatch at 0.1 h - 1 s, last receipt at 0.6 h).
  CHECK(std::stod(fact(s, "evaluations_per_hour")) == Approx(6 / (0.5 + 1 / 3600.0)).epsilon(0.01));

  const auto& top = table(s, "top");
  REQUIRE(top.rows.size() == 2);
  CHECK(top.rows[0][0].text == "2");
  CHECK(top.rows[1][0].text == "3");
  CHECK(top.rows[0][6].text == rows[2].result.genotype.to_string());

  const auto& statuses = table(s, "statuses");
  REQUIRE(statuses.rows.size() == 3);
  CHECK(statuses.rows[0][0].text == "diverged");
  CHECK(statuses.rows[1][0].text == "error");
  CHECK(statuses.rows[1][1].text == "2");
  CHECK(statuses.rows[1][2].text == "failure of 4");
  CHECK(statuses.rows[2][0].text == "ok");

  // Failed children are not on a front, though they are the cheapest.
  const auto& by_latency = table(s, "pareto_latency");
  REQUIRE(by_latency.rows.size() == 2);
  CHECK(by_latency.rows[0][0].text == "3");
  CHECK(by_latency.rows[1][0].text == "2");
  const auto& by_params = table(s, "pareto_params");
  REQUIRE(by_params.rows.size() == 1);
  CHECK(by_params.rows[0][0].text == "2");
}

TEST_CASE("several search files are compared by evaluations and hours to a reward",
          "[app][report]") {
  std::vector<store::EvaluationRow> fast, slow;
  for (int i = 0; i < 40; ++i) {
    fast.push_back(row(i, 0.5 + 0.01 * i, 1, 100, 0.05 * (i + 1)));
    slow.push_back(row(i, 0.5 + 0.005 * i, 1, 100, 0.1 * (i + 1)));
  }
  const ReportSection s = app::compare_searches({"fast.h5", "slow.h5"}, {facts("rl"), facts("random")},
                                                {fast, slow}, 0);
  // The default target is the lower of the two bests: slow's 0.695, which fast reaches at
  // evaluation 21 (0.5 + 0.01 * 20 = 0.70), received at 1.05 h: 1.0003 h after its first
  // request (at 0.05 h less a second).
  CHECK(std::stod(fact(s, "target_reward")) == Approx(0.695));
  const auto& t = table(s, "comparison");
  REQUIRE(t.rows.size() == 2);
  const auto column = [&](const std::string& name) {
    const auto it = std::find(t.columns.begin(), t.columns.end(), name);
    REQUIRE(it != t.columns.end());
    return static_cast<std::size_t>(it - t.columns.begin());
  };
  CHECK(t.rows[0][column("evaluations_to_target")].text == "21");
  CHECK(std::stod(t.rows[0][column("hours_to_target")].text) == Approx(1.0 + 1 / 3600.0).epsilon(1e-3));
  CHECK(t.rows[1][column("evaluations_to_target")].text == "40");
  CHECK(std::stod(t.rows[0][column("best_after_10")].text) == Approx(0.59));
  CHECK(std::stod(t.rows[1][column("best_after_30")].text) == Approx(0.645));
  // By hour 1 fast has 20 results (best 0.69), slow 10 (best 0.545).
  CHECK(std::stod(t.rows[0][column("best_after_1h")].text) == Approx(0.69));
  CHECK(std::stod(t.rows[1][column("best_after_1h")].text) == Approx(0.545));
}

TEST_CASE("a DARTS file's report says from which epoch the genotype stayed", "[app][report]") {
  store::DartsHistory history;
  std::mt19937_64 rng(3);
  const auto a = space::sample_genotype(rng), b = space::sample_genotype(rng);
  for (int e = 0; e < 5; ++e) {
    darts::EpochRecord r;
    r.epoch = e;
    r.genotype = e == 1 ? b : (e < 2 ? a : b);
    r.normal_skip_connections = e;
    history.epochs.push_back(r);
  }
  const ReportSection s = app::report_darts("d.h5", app::RunFacts{}, history);
  CHECK(fact(s, "genotype_stable_from_epoch") == "2"); // epochs 2..5 (1-based) share b
  const auto& epochs = table(s, "epochs");
  REQUIRE(epochs.rows.size() == 5);
  CHECK(epochs.rows[0][7].text == a.to_string());
  CHECK(epochs.rows[2][7].text == "=");
  CHECK(epochs.rows[4][5].text == "4");
}

TEST_CASE("a train file's report names the worst class", "[app][report]") {
  store::TrainHistory history;
  history.tested = true;
  history.test.classes = 3;
  history.test.confusion = {9, 1, 0, /**/ 2, 6, 2, /**/ 0, 0, 10};
  history.test.accuracy = 25.0 / 30.0;
  for (int e = 0; e < 7; ++e) {
    retrain::TrainEpochRow r;
    r.epoch = e;
    history.epochs.push_back(r);
  }
  const ReportSection s = app::report_train("t.h5", app::RunFacts{}, history);
  CHECK(fact(s, "worst_class") == "1");
  CHECK(std::stod(fact(s, "worst_class_accuracy")) == Approx(0.6));
  CHECK(table(s, "classes").rows[1][2].text == "worst");
  const auto& last = table(s, "last_epochs");
  REQUIRE(last.rows.size() == 5);
  CHECK(last.rows.front()[0].text == "3");
}

TEST_CASE("the report prints as markdown, CSV and JSON", "[app][report]") {
  ReportSection s{"x,y.h5", "search", {{"command", {"hpcnas search \"q\"", false}},
                                       {"evaluations", {"3", true}}}, {}};
  s.tables.push_back({"top", "Best", {"id", "genotype"}, {{{"1", true}, {"a|b", false}}}});
  std::ostringstream markdown, csv, json;
  app::print_report(markdown, {s}, app::ReportFormat::kMarkdown);
  app::print_report(csv, {s}, app::ReportFormat::kCsv);
  app::print_report(json, {s}, app::ReportFormat::kJson);
  CHECK_THAT(markdown.str(), Catch::Contains("| 1 | a\\|b |"));
  CHECK_THAT(csv.str(), Catch::Contains("# x,y.h5: top\nid,genotype\n1,a|b\n"));
  CHECK_THAT(csv.str(), Catch::Contains("command,\"hpcnas search \"\"q\"\"\"\n"));
  CHECK_THAT(json.str(), Catch::Contains("\"evaluations\": 3"));
  CHECK_THAT(json.str(), Catch::Contains("\"command\": \"hpcnas search \\\"q\\\"\""));
  CHECK_THAT(json.str(), Catch::Contains("\"top\": [{\"id\": 1, \"genotype\": \"a|b\"}]"));
}
