#pragma once
/// `hpcnas report RUN.h5 [RUN2.h5 ...]`: what run files hold, as tables. A search file gives
/// what ran, the best genotypes, failures by status and the Pareto fronts of accuracy against
/// latency and parameters; several search files also a comparison; a DARTS file its epochs and
/// when the genotype stopped changing; a train file its test accuracy per class and its last
/// epochs. Printed as markdown, CSV or JSON.

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/store/darts_file.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/store/train_file.hpp"

namespace hpcnas::app {

/// One cell: its text, and whether that text is a number (bare in JSON, quoted otherwise).
struct ReportCell {
  std::string text;
  bool number = false;
};

struct ReportTable {
  std::string name;    ///< key in JSON and CSV: "top", "failures", ...
  std::string caption; ///< heading in the markdown output
  std::vector<std::string> columns;
  std::vector<std::vector<ReportCell>> rows;
};

/// What the report says about one run file (kind search, darts or train), or the comparison of
/// several search files (kind "comparison", file "").
struct ReportSection {
  std::string file;
  std::string kind;
  std::vector<std::pair<std::string, ReportCell>> facts;
  std::vector<ReportTable> tables;
};

/// The root attributes a report states: the command line and the resolved options.
struct RunFacts {
  std::string command_line;
  int ranks = 1;
  int nodes = 1;
  std::vector<std::pair<std::string, std::string>> config;
  std::string option(const std::string& name) const; ///< "" when absent
};

/// Indices of the points not dominated when `maximise` is to be high and `minimise` low,
/// ordered by `minimise` (ties: the first of equal points only).
std::vector<std::size_t> pareto_front(const std::vector<double>& maximise,
                                      const std::vector<double>& minimise);

/// The best reward among ok results after each evaluation, in arrival order (0 before any).
std::vector<double> best_so_far(const std::vector<store::EvaluationRow>& rows);

ReportSection report_search(const std::string& file, const RunFacts& facts,
                            const std::vector<store::EvaluationRow>& rows, int top);
ReportSection report_darts(const std::string& file, const RunFacts& facts,
                           const store::DartsHistory& history);
ReportSection report_train(const std::string& file, const RunFacts& facts,
                           const store::TrainHistory& history);
/// Best reward after given numbers of evaluations and hours, and when each file first reached
/// `target` (0: the lowest best reward among the files, so that every file reaches it).
ReportSection compare_searches(const std::vector<std::string>& files,
                               const std::vector<RunFacts>& facts,
                               const std::vector<std::vector<store::EvaluationRow>>& rows,
                               double target);

/// Reads every file (after a trial read, store::verify_readable) and builds its section, plus a
/// comparison when there are several search files. Throws StoreError naming a bad file.
std::vector<ReportSection> build_report(const config::ReportConfig& cfg);

enum class ReportFormat { kMarkdown, kCsv, kJson };
void print_report(std::ostream& out, const std::vector<ReportSection>& sections,
                  ReportFormat format);

} // namespace hpcnas::app
