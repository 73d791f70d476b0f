#include "hpcnas/app/report.hpp"
#include "hpcnas/app/scaling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <ostream>

namespace hpcnas::app {

namespace {

ReportCell number(double value, const char* format = "%.4f") {
  if (!std::isfinite(value))
    return {"", false};
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return {text, true};
}

ReportCell integer(long long value) { return {std::to_string(value), true}; }

ReportCell text(std::string value) { return {std::move(value), false}; }

ReportCell empty() { return {"", false}; }

/// Rank 0's clock (search_span_seconds), never negative.
double span_seconds(const std::vector<store::EvaluationRow>& rows) {
  return std::max(search_span_seconds(rows), 0.0);
}

/// Hours from the run's first dispatch to the receipt of each row.
std::vector<double> hours_at(const std::vector<store::EvaluationRow>& rows) {
  std::vector<double> hours;
  if (rows.empty())
    return hours;
  double first = rows.front().timing.dispatched;
  for (const auto& row : rows)
    first = std::min(first, row.timing.dispatched);
  for (const auto& row : rows)
    hours.push_back((row.timing.received - first) / 3600.0);
  return hours;
}

bool ok(const store::EvaluationRow& row) { return row.result.status == train::EvalStatus::kOk; }

void add_run_facts(ReportSection& section, const RunFacts& facts) {
  section.facts.emplace_back("command", text(facts.command_line));
  section.facts.emplace_back("ranks", integer(facts.ranks));
  section.facts.emplace_back("nodes", integer(facts.nodes));
  section.facts.emplace_back("dataset", text(facts.option("dataset")));
}

enum class Cost { kLatency, kParams };

/// The successful children on the front of validation accuracy against a cost, cheapest first.
ReportTable pareto_table(const std::vector<const store::EvaluationRow*>& rows, Cost cost) {
  const bool latency = cost == Cost::kLatency;
  std::vector<double> accuracy, costs;
  for (const auto* row : rows) {
    accuracy.push_back(row->result.val_accuracy);
    costs.push_back(latency ? row->result.latency_ms : static_cast<double>(row->result.params));
  }
  ReportTable table{latency ? "pareto_latency" : "pareto_params",
                    latency ? "Pareto front: validation accuracy against latency"
                            : "Pareto front: validation accuracy against parameters",
                    {"id", "val_accuracy", "latency_ms", "params", "reward"},
                    {}};
  for (std::size_t i : pareto_front(accuracy, costs)) {
    const train::EvalResult& r = rows[i]->result;
    table.rows.push_back({integer(r.id), number(r.val_accuracy), number(r.latency_ms, "%.4g"),
                          integer(r.params), number(r.reward)});
  }
  return table;
}

/// The genotype's text when it differs from the previous epoch's, "=" when it does not.
std::string genotype_change(const std::vector<darts::EpochRecord>& epochs, std::size_t e) {
  return e > 0 && epochs[e].genotype == epochs[e - 1].genotype ? "="
                                                               : epochs[e].genotype.to_string();
}

RunFacts read_facts(const std::string& path) {
  RunFacts facts;
  facts.command_line = store::read_root_attribute(path, "command_line");
  if (store::has_root_attribute(path, "ranks"))
    facts.ranks = store::read_root_int_attribute(path, "ranks");
  if (store::has_root_attribute(path, "nodes"))
    facts.nodes = store::read_root_int_attribute(path, "nodes");
  facts.config = store::read_config(path);
  return facts;
}

} // namespace

std::string RunFacts::option(const std::string& name) const {
  for (const auto& [key, value] : config)
    if (key == name)
      return value;
  return "";
}

std::vector<std::size_t> pareto_front(const std::vector<double>& maximise,
                                      const std::vector<double>& minimise) {
  std::vector<std::size_t> order(maximise.size());
  std::iota(order.begin(), order.end(), 0);
  // Cheapest first, and among equally cheap the best first: a point is on the front when it
  // beats every cheaper point.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return minimise[a] != minimise[b] ? minimise[a] < minimise[b] : maximise[a] > maximise[b];
  });
  std::vector<std::size_t> front;
  double best = -std::numeric_limits<double>::infinity();
  for (std::size_t i : order)
    if (maximise[i] > best) {
      front.push_back(i);
      best = maximise[i];
    }
  return front;
}

std::vector<double> best_so_far(const std::vector<store::EvaluationRow>& rows) {
  std::vector<double> best;
  double current = 0;
  bool any = false;
  for (const auto& row : rows) {
    if (ok(row) && (!any || row.result.reward > current)) {
      current = row.result.reward;
      any = true;
    }
    best.push_back(current);
  }
  return best;
}

ReportSection report_search(const std::string& file, const RunFacts& facts,
                            const std::vector<store::EvaluationRow>& rows, int top) {
  ReportSection s{file, "search", {}, {}};
  add_run_facts(s, facts);
  s.facts.emplace_back("strategy", text(facts.option("strategy")));
  s.facts.emplace_back("evaluator", text(facts.option("evaluator")));
  s.facts.emplace_back("budget", text(facts.option("budget")));
  s.facts.emplace_back("evaluations", integer(static_cast<long long>(rows.size())));
  const double span = span_seconds(rows);
  s.facts.emplace_back("wall_hours", number(span / 3600.0));
  s.facts.emplace_back("evaluations_per_hour",
                       span > 0 ? number(3600.0 * static_cast<double>(rows.size()) / span, "%.1f")
                                : empty());

  // Successful children only, in arrival order: a failed child has no accuracy to rank or trade.
  std::vector<const store::EvaluationRow*> in_order;
  for (const auto& row : rows)
    if (ok(row))
      in_order.push_back(&row);
  std::vector<const store::EvaluationRow*> good = in_order;
  std::stable_sort(good.begin(), good.end(), [](const auto* a, const auto* b) {
    return a->result.reward > b->result.reward;
  });
  ReportTable best{"top",
                   "Best genotypes by reward",
                   {"id", "reward", "val_accuracy", "params", "flops", "latency_ms", "genotype"},
                   {}};
  for (std::size_t i = 0; i < good.size() && i < static_cast<std::size_t>(top); ++i) {
    const train::EvalResult& r = good[i]->result;
    best.rows.push_back({integer(r.id), number(r.reward), number(r.val_accuracy),
                         integer(r.params), integer(r.flops), number(r.latency_ms, "%.4g"),
                         text(r.genotype.to_string())});
  }
  s.tables.push_back(std::move(best));

  std::map<std::string, std::pair<long long, std::string>> by_status; // count, first message
  for (const auto& row : rows) {
    auto& [count, message] = by_status[train::status_name(row.result.status)];
    if (count++ == 0)
      message = row.result.message;
  }
  ReportTable statuses{"statuses", "Evaluations by status", {"status", "count", "first message"},
                       {}};
  for (const auto& [status, entry] : by_status)
    statuses.rows.push_back({text(status), integer(entry.first), text(entry.second)});
  s.tables.push_back(std::move(statuses));

  s.tables.push_back(pareto_table(in_order, Cost::kLatency));
  s.tables.push_back(pareto_table(in_order, Cost::kParams));
  return s;
}

ReportSection report_darts(const std::string& file, const RunFacts& facts,
                           const store::DartsHistory& history) {
  ReportSection s{file, "darts", {}, {}};
  add_run_facts(s, facts);
  const auto& epochs = history.epochs;
  s.facts.emplace_back("epochs", integer(static_cast<long long>(epochs.size())));
  s.facts.emplace_back("epochs_planned", text(facts.option("epochs")));
  double seconds = 0;
  for (const auto& e : epochs)
    seconds += e.epoch_seconds;
  s.facts.emplace_back("wall_hours", number(seconds / 3600.0));
  if (!epochs.empty()) {
    // The first epoch from which the genotype no longer changed.
    std::size_t stable = epochs.size() - 1;
    while (stable > 0 && epochs[stable - 1].genotype == epochs.back().genotype)
      --stable;
    s.facts.emplace_back("final_val_accuracy", number(epochs.back().val_accuracy));
    s.facts.emplace_back("genotype_stable_from_epoch",
                         integer(static_cast<long long>(epochs[stable].epoch + 1)));
    s.facts.emplace_back("final_genotype", text(epochs.back().genotype.to_string()));
  }
  ReportTable table{"epochs",
                    "Epochs (genotype: its DARTS text when it changed, = when it did not)",
                    {"epoch", "train_loss", "train_accuracy", "val_accuracy", "learning_rate",
                     "normal_skip_connections", "seconds", "genotype"},
                    {}};
  for (std::size_t e = 0; e < epochs.size(); ++e) {
    const auto& r = epochs[e];
    table.rows.push_back({integer(r.epoch + 1), number(r.train_loss), number(r.train_accuracy),
                          number(r.val_accuracy), number(r.learning_rate, "%.5f"),
                          integer(r.normal_skip_connections), number(r.epoch_seconds, "%.1f"),
                          text(genotype_change(epochs, e))});
  }
  s.tables.push_back(std::move(table));
  return s;
}

ReportSection report_train(const std::string& file, const RunFacts& facts,
                           const store::TrainHistory& history) {
  ReportSection s{file, "train", {}, {}};
  add_run_facts(s, facts);
  s.facts.emplace_back("genotype", text(history.source.genotype));
  s.facts.emplace_back("parameters", integer(history.source.parameters));
  if (!history.source.source_run.empty())
    s.facts.emplace_back("source_run", text(history.source.source_run));
  s.facts.emplace_back("epochs", integer(static_cast<long long>(history.epochs.size())));
  s.facts.emplace_back("epochs_planned", text(facts.option("epochs")));
  double seconds = 0;
  for (const auto& e : history.epochs)
    seconds += e.epoch_seconds;
  s.facts.emplace_back("wall_hours", number(seconds / 3600.0));
  if (history.tested) {
    const auto& test = history.test;
    const auto per_class = test.per_class_accuracy();
    const int worst = test.worst_class();
    s.facts.emplace_back("test_accuracy", number(test.accuracy));
    s.facts.emplace_back("test_loss", number(test.loss));
    s.facts.emplace_back("worst_class", integer(worst));
    s.facts.emplace_back("worst_class_accuracy", number(worst >= 0 ? per_class[worst] : NAN));
    ReportTable classes{"classes", "Test accuracy per class", {"class", "accuracy", "worst"}, {}};
    for (std::size_t c = 0; c < per_class.size(); ++c)
      classes.rows.push_back({integer(static_cast<long long>(c)), number(per_class[c]),
                              text(static_cast<int>(c) == worst ? "worst" : "")});
    s.tables.push_back(std::move(classes));
  } else {
    s.facts.emplace_back("test_accuracy", text("not tested yet"));
  }
  constexpr std::size_t kLastEpochs = 5;
  ReportTable curve{"last_epochs",
                    "Last epochs",
                    {"epoch", "learning_rate", "train_loss", "train_accuracy", "test_loss",
                     "test_accuracy", "seconds"},
                    {}};
  const std::size_t from = history.epochs.size() > kLastEpochs ? history.epochs.size() - kLastEpochs
                                                               : 0;
  for (std::size_t e = from; e < history.epochs.size(); ++e) {
    const auto& r = history.epochs[e];
    curve.rows.push_back({integer(r.epoch + 1), number(r.learning_rate, "%.5f"),
                          number(r.train_loss), number(r.train_accuracy), number(r.test_loss),
                          number(r.test_accuracy), number(r.epoch_seconds, "%.1f")});
  }
  s.tables.push_back(std::move(curve));
  return s;
}

ReportSection compare_searches(const std::vector<std::string>& files,
                               const std::vector<RunFacts>& facts,
                               const std::vector<std::vector<store::EvaluationRow>>& rows,
                               double target) {
  ReportSection s{"", "comparison", {}, {}};
  std::size_t most = 0;
  double longest = 0;
  double lowest_best = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(rows.size()), hours(rows.size());
  for (std::size_t f = 0; f < rows.size(); ++f) {
    best[f] = best_so_far(rows[f]);
    hours[f] = hours_at(rows[f]);
    most = std::max(most, rows[f].size());
    longest = std::max(longest, span_seconds(rows[f]) / 3600.0);
    lowest_best = std::min(lowest_best, best[f].empty() ? 0.0 : best[f].back());
  }
  if (target <= 0)
    target = lowest_best;
  s.facts.emplace_back("target_reward", number(target));

  std::vector<std::size_t> counts;
  for (std::size_t n : {10, 30, 100, 300, 1000, 3000, 10000})
    if (n < most)
      counts.push_back(n);
  // Hour marks that fall within the longest run; for runs under 6 minutes, its quarters.
  std::vector<double> marks;
  for (double h : {0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 48.0})
    if (h < longest)
      marks.push_back(h);
  if (marks.empty() && longest > 0)
    marks = {longest / 4, longest / 2};

  ReportTable table{"comparison", "Search files compared (best reward so far)", {}, {}};
  table.columns = {"file", "strategy", "evaluations", "best"};
  for (std::size_t n : counts)
    table.columns.push_back("best_after_" + std::to_string(n));
  for (double h : marks)
    table.columns.push_back("best_after_" + number(h, "%.3g").text + "h");
  table.columns.push_back("evaluations_to_target");
  table.columns.push_back("hours_to_target");
  for (std::size_t f = 0; f < rows.size(); ++f) {
    std::vector<ReportCell> row{text(files[f]), text(facts[f].option("strategy")),
                                integer(static_cast<long long>(rows[f].size())),
                                best[f].empty() ? empty() : number(best[f].back())};
    for (std::size_t n : counts)
      row.push_back(n <= best[f].size() ? number(best[f][n - 1]) : empty());
    for (double h : marks) {
      // The best among the rows received by then: rows arrive in order of receipt.
      std::size_t seen = 0;
      while (seen < hours[f].size() && hours[f][seen] <= h)
        ++seen;
      row.push_back(seen > 0 ? number(best[f][seen - 1]) : empty());
    }
    const auto reached = std::find_if(best[f].begin(), best[f].end(),
                                      [&](double b) { return b >= target; });
    if (reached == best[f].end()) {
      row.push_back(empty());
      row.push_back(empty());
    } else {
      const auto at = static_cast<std::size_t>(reached - best[f].begin());
      row.push_back(integer(static_cast<long long>(at + 1)));
      row.push_back(number(hours[f][at]));
    }
    table.rows.push_back(std::move(row));
  }
  s.tables.push_back(std::move(table));
  return s;
}

std::vector<ReportSection> build_report(const config::ReportConfig& cfg) {
  std::vector<ReportSection> sections;
  std::vector<std::string> search_files;
  std::vector<RunFacts> search_facts;
  std::vector<std::vector<store::EvaluationRow>> search_rows;
  for (const auto& path : cfg.files) {
    store::verify_readable(path);
    const std::string kind = store::read_run_kind(path);
    const RunFacts facts = read_facts(path);
    if (kind == "darts") {
      sections.push_back(report_darts(path, facts, store::read_darts(path)));
    } else if (kind == "train") {
      sections.push_back(report_train(path, facts, store::read_train(path)));
    } else {
      search_rows.push_back(store::read_evaluations(path));
      search_files.push_back(path);
      search_facts.push_back(facts);
      sections.push_back(report_search(path, facts, search_rows.back(), cfg.top));
    }
  }
  if (search_files.size() > 1)
    sections.push_back(compare_searches(search_files, search_facts, search_rows, cfg.target));
  return sections;
}

namespace {

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos)
    return value;
  std::string quoted = "\"";
  for (char c : value)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string json_string(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_value(const ReportCell& cell) {
  if (cell.number)
    return cell.text;
  return cell.text.empty() ? "null" : json_string(cell.text);
}

/// A markdown cell: pipes escaped, so a genotype or a message cannot break the table.
std::string markdown_cell(const std::string& value) {
  std::string out;
  for (char c : value)
    out += c == '|' ? std::string("\\|") : std::string(1, c == '\n' ? ' ' : c);
  return out;
}

void print_markdown(std::ostream& out, const std::vector<ReportSection>& sections) {
  for (const auto& s : sections) {
    out << "## " << (s.kind == "comparison" ? std::string("comparison") : s.file + " (" + s.kind + ")")
        << "\n\n";
    for (const auto& [key, value] : s.facts)
      out << "- " << key << ": " << markdown_cell(value.text) << "\n";
    for (const auto& t : s.tables) {
      out << "\n### " << t.caption << "\n\n";
      if (t.rows.empty()) {
        out << "(none)\n";
        continue;
      }
      out << "|";
      for (const auto& c : t.columns)
        out << " " << c << " |";
      out << "\n|";
      for (std::size_t i = 0; i < t.columns.size(); ++i)
        out << " --- |";
      out << "\n";
      for (const auto& row : t.rows) {
        out << "|";
        for (const auto& cell : row)
          out << " " << markdown_cell(cell.text) << " |";
        out << "\n";
      }
    }
    out << "\n";
  }
}

void print_csv(std::ostream& out, const std::vector<ReportSection>& sections) {
  // One block per table, each headed by a comment line naming the file and the table.
  for (const auto& s : sections) {
    const std::string where = s.kind == "comparison" ? std::string("comparison") : s.file;
    out << "# " << where << ": facts\nkey,value\n";
    for (const auto& [key, value] : s.facts)
      out << key << "," << csv_field(value.text) << "\n";
    for (const auto& t : s.tables) {
      out << "\n# " << where << ": " << t.name << "\n";
      for (std::size_t i = 0; i < t.columns.size(); ++i)
        out << (i ? "," : "") << t.columns[i];
      out << "\n";
      for (const auto& row : t.rows) {
        for (std::size_t i = 0; i < row.size(); ++i)
          out << (i ? "," : "") << csv_field(row[i].text);
        out << "\n";
      }
    }
    out << "\n";
  }
}

void print_json(std::ostream& out, const std::vector<ReportSection>& sections) {
  out << "{\"reports\": [";
  for (std::size_t si = 0; si < sections.size(); ++si) {
    const auto& s = sections[si];
    out << (si ? ", " : "") << "{\"file\": " << json_value(text(s.file))
        << ", \"kind\": " << json_string(s.kind) << ", \"facts\": {";
    for (std::size_t i = 0; i < s.facts.size(); ++i)
      out << (i ? ", " : "") << json_string(s.facts[i].first) << ": "
          << json_value(s.facts[i].second);
    out << "}, \"tables\": {";
    for (std::size_t ti = 0; ti < s.tables.size(); ++ti) {
      const auto& t = s.tables[ti];
      out << (ti ? ", " : "") << json_string(t.name) << ": [";
      for (std::size_t r = 0; r < t.rows.size(); ++r) {
        out << (r ? ", " : "") << "{";
        for (std::size_t c = 0; c < t.columns.size(); ++c)
          out << (c ? ", " : "") << json_string(t.columns[c]) << ": " << json_value(t.rows[r][c]);
        out << "}";
      }
      out << "]";
    }
    out << "}}";
  }
  out << "]}\n";
}

} // namespace

void print_report(std::ostream& out, const std::vector<ReportSection>& sections,
                  ReportFormat format) {
  switch (format) {
  case ReportFormat::kMarkdown:
    print_markdown(out, sections);
    break;
  case ReportFormat::kCsv:
    print_csv(out, sections);
    break;
  case ReportFormat::kJson:
    print_json(out, sections);
    break;
  }
}

} // namespace hpcnas::app
