#include "hpcnas/config/options.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/any.hpp>
#include <boost/program_options.hpp>

#include "hpcnas/space/hash.hpp"
#include "hpcnas/space/recurrent.hpp"

namespace hpcnas::config {
namespace po = boost::program_options;
namespace {

template <typename T> po::typed_value<T>* bound(T* target) {
  return po::value<T>(target)->default_value(*target);
}

void add_data_options(po::options_description& all, DataConfig& cfg) {
  po::options_description d("Data");
  auto add = d.add_options();
  add("dataset", bound(&cfg.dataset),
      "fashion-mnist | mnist | cifar10 | synthetic (search also: spamassassin | text-folder)");
  add("data-dir", bound(&cfg.data_dir),
      "folder of the dataset files (empty: the dataset's default)");
  add("val-size", bound(&cfg.val_size), "training images held out as the validation split");
  add("train-subset", bound(&cfg.train_subset), "train children on this many images (0: all)");
  add("val-subset", bound(&cfg.val_subset), "validate children on this many images (0: all)");
  add("split-seed", bound(&cfg.split_seed), "seed of the train/validation split");
  all.add(d);
}

/// Text datasets and the text classifier of a recurrent cell (`hpcnas search` on a corpus).
void add_text_options(po::options_description& all, DataConfig& data, NetworkConfig& network) {
  po::options_description d("Text data and recurrent cells (--dataset spamassassin | text-folder)");
  auto add = d.add_options();
  add("max-tokens", bound(&data.max_tokens), "tokens read from the start of each text");
  add("vocab-size", bound(&data.vocab_size),
      "vocabulary ids, padding and unknown included (the training split's most frequent words)");
  add("val-fraction", bound(&data.val_fraction), "share of each class held out for validation");
  add("test-fraction", bound(&data.test_fraction), "share of each class held out for the test");
  add("rnn-nodes", bound(&network.rnn_nodes), "nodes of a recurrent cell (node 0 not counted)");
  add("embedding", bound(&network.embedding), "token embedding width");
  add("hidden", bound(&network.hidden), "hidden state width of the recurrent cell");
  all.add(d);
}

void add_network_options(po::options_description& all, NetworkConfig& cfg) {
  po::options_description d("Child network");
  auto add = d.add_options();
  add("channels", bound(&cfg.channels), "initial channels C");
  add("layers", bound(&cfg.layers), "cells L (reduction cells at L/3 and 2L/3)");
  all.add(d);
}

void add_train_options(po::options_description& all, TrainConfig& cfg) {
  po::options_description d("Child training");
  auto add = d.add_options();
  add("epochs", bound(&cfg.epochs), "training epochs per child");
  add("batch-size", bound(&cfg.batch_size), "minibatch size");
  add("lr", po::value<double>(&cfg.learning_rate)->default_value(0),
      "initial SGD learning rate (cosine schedule; 0: the dataset's, 0.025 for images, 1 for "
      "texts)");
  add("lr-min", bound(&cfg.min_learning_rate), "final learning rate of the cosine schedule");
  add("momentum", bound(&cfg.momentum), "SGD momentum");
  add("weight-decay", bound(&cfg.weight_decay), "SGD weight decay");
  add("grad-clip", bound(&cfg.grad_clip), "gradient norm clip");
  add("threads", bound(&cfg.threads), "LibTorch threads per rank (0: LibTorch's default)");
  add("eval-timeout", bound(&cfg.eval_timeout), "seconds before a child is stopped (0: none)");
  add("latency-repeats", bound(&cfg.latency_repeats), "timed forwards for the latency median");
  add("latency-batch", bound(&cfg.latency_batch), "batch size of the latency measurement");
  all.add(d);
}

void add_reward_options(po::options_description& all, RewardConfig& cfg) {
  po::options_description d("Reward");
  auto add = d.add_options();
  add("reward", bound(&cfg.kind),
      "accuracy | latency (acc*(lat/target)^w) | params (acc, 0 over --max-params)");
  add("target-latency-ms", bound(&cfg.target_latency_ms), "latency target of the latency reward");
  add("latency-weight", bound(&cfg.latency_weight), "exponent w of the latency reward");
  add("max-params", bound(&cfg.max_params), "parameter budget of the params reward (0: none)");
  all.add(d);
}

void add_surrogate_options(po::options_description& all, SurrogateConfig& cfg) {
  po::options_description d("Surrogate evaluator (--evaluator surrogate)");
  auto add = d.add_options();
  add("surrogate-seconds", bound(&cfg.seconds), "sleep per evaluation, imitating training");
  add("surrogate-noise", bound(&cfg.noise), "std-dev of seeded per-evaluation noise");
  add("surrogate-landscape", bound(&cfg.landscape_seed), "seed of the surrogate landscape");
  all.add(d);
}

void add_rl_options(po::options_description& all, RlConfig& cfg) {
  po::options_description d("RL controller (--strategy rl)");
  auto add = d.add_options();
  add("rl-lr", bound(&cfg.learning_rate), "Adam learning rate of the policy");
  add("rl-batch", bound(&cfg.batch), "results per policy update (M)");
  add("rl-baseline-decay", bound(&cfg.baseline_decay), "decay of the moving-average baseline");
  add("rl-entropy", bound(&cfg.entropy_weight), "weight of the entropy bonus");
  add("rl-temperature", bound(&cfg.temperature), "sampling temperature of the logits");
  add("rl-tanh-constant", bound(&cfg.tanh_constant),
      "logit clipping: c * tanh(logits / temperature) (0: no clipping)");
  add("rl-grad-clip", bound(&cfg.grad_clip), "gradient norm clip of the policy");
  add("rl-hidden", bound(&cfg.hidden), "LSTM hidden size of the policy");
  all.add(d);
}

void add_evolution_options(po::options_description& all, EvolutionConfig& cfg) {
  po::options_description d("Aging evolution (--strategy evolution)");
  auto add = d.add_options();
  add("population", bound(&cfg.population), "population size P (the oldest dies beyond it)");
  add("sample", bound(&cfg.sample), "tournament size S: the fittest of S drawn is the parent");
  all.add(d);
}

void add_qlearning_options(po::options_description& all, QLearningConfig& cfg) {
  po::options_description d("Q-learning (--strategy qlearning)");
  auto add = d.add_options();
  add("q-epsilon-start", bound(&cfg.epsilon_start), "epsilon-greedy: share of random "
      "architectures at first");
  add("q-epsilon-end", bound(&cfg.epsilon_end), "... at the end of the schedule");
  add("q-epsilon-stages", bound(&cfg.epsilon_stages), "epsilon falls in this many equal stages");
  add("q-epsilon-span", bound(&cfg.epsilon_span),
      "proposals over which epsilon falls (0: the budget of the run that started the search)");
  add("q-lr", bound(&cfg.learning_rate), "Q-learning rate");
  add("q-lambda", bound(&cfg.lambda),
      "Peng's Q(lambda): share of the replayed result's return in each backup (0: one-step)");
  add("q-replay", bound(&cfg.replay), "experiences replayed after each result");
  add("q-initial", bound(&cfg.initial_q), "Q of a state-action pair never updated");
  all.add(d);
}

void add_hybrid_options(po::options_description& all, HybridConfig& cfg) {
  po::options_description d("Hybrid of RL and evolution (--strategy hybrid; also --population, "
                            "--sample)");
  auto add = d.add_options();
  add("hybrid-lr", bound(&cfg.learning_rate),
      "REINFORCE step of the mutation policy (on its logits, per result)");
  add("hybrid-baseline-decay", bound(&cfg.baseline_decay),
      "moving average of the children's improvement over their parents, and of its spread");
  all.add(d);
}

void add_scheduler_options(po::options_description& all, SchedulerConfig& cfg) {
  po::options_description d("Multi-fidelity scheduler (children trained for fewer epochs first)");
  auto add = d.add_options();
  add("scheduler", bound(&cfg.kind),
      "none (every child gets --epochs) | asha (asynchronous successive halving)");
  add("min-epochs", bound(&cfg.min_epochs), "asha: epochs of a new child (the lowest rung)");
  add("max-epochs", bound(&cfg.max_epochs), "asha: epochs of the highest rung");
  add("eta", bound(&cfg.eta), "asha: the top 1/eta of a rung go on, with eta times the epochs");
  all.add(d);
}

void add_prefilter_options(po::options_description& all, PrefilterConfig& cfg) {
  po::options_description d("Zero-cost prefilter (rank 0 scores candidates before training)");
  auto add = d.add_options();
  add("prefilter", bound(&cfg.proxy),
      "none | synflow | naswot: send to trainers only the best candidates by this proxy");
  add("prefilter-keep", bound(&cfg.keep),
      "share F of the candidates evaluated: 1/F are drawn per child sent");
  add("prefilter-batch", bound(&cfg.batch), "training images the proxy is computed on");
  all.add(d);
}

/// Value of a stored option as text, for the run file's resolved configuration. Doubles in
/// their shortest round-trip form, so 0.025 reads back as 0.025.
std::string value_text(const boost::any& v) {
  if (auto p = boost::any_cast<double>(&v)) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, *p).ptr;
    return std::string(text, end);
  }
  if (auto p = boost::any_cast<int>(&v))
    return std::to_string(*p);
  if (auto p = boost::any_cast<std::uint64_t>(&v))
    return std::to_string(*p);
  if (auto p = boost::any_cast<std::string>(&v))
    return *p;
  if (auto p = boost::any_cast<bool>(&v))
    return *p ? "true" : "false";
  return "?";
}

void require(bool ok, const std::string& message) {
  if (!ok)
    throw ConfigError(message);
}

void require_one_of(const std::string& option, const std::string& value,
                    const std::vector<std::string>& allowed) {
  for (const auto& a : allowed)
    if (a == value)
      return;
  std::string list;
  for (const auto& a : allowed)
    list += (list.empty() ? "" : ", ") + a;
  throw ConfigError("--" + option + " '" + value + "' is not one of: " + list);
}

/// search's and train's --dataset: an image or a text dataset, the text options valid, and a
/// text folder named.
void require_dataset(const DataConfig& data, const NetworkConfig& network) {
  require_one_of("dataset", data.dataset,
                 {"fashion-mnist", "mnist", "cifar10", "synthetic", "spamassassin", "text-folder"});
  require(data.max_tokens >= 1, "--max-tokens must be at least 1");
  require(data.vocab_size >= 3, "--vocab-size must be at least 3 (padding, unknown and a word)");
  require(data.val_fraction > 0 && data.test_fraction >= 0 &&
              data.val_fraction + data.test_fraction < 1,
          "--val-fraction must be positive, --test-fraction not negative, and their sum below 1");
  require(network.rnn_nodes >= 1 && network.rnn_nodes <= space::kMaxRecurrentNodes,
          "--rnn-nodes must be in 1.." + std::to_string(space::kMaxRecurrentNodes));
  require(network.embedding >= 1, "--embedding must be at least 1");
  require(network.hidden >= 1, "--hidden must be at least 1");
  require(data.dataset != "text-folder" || !data.data_dir.empty(),
          "--dataset text-folder needs --data-dir DIR (DIR/<class>/*.txt)");
}

/// --lr 0 (its default) takes the dataset's learning rate: DARTS's 0.025 for image networks; for
/// text classifiers 1, measured on SpamAssassin (docs/datasets.md: 0.1 barely learns in 4
/// epochs, 4 diverged). The run file records the value used, so image runs record 0.025 as they
/// always did.
void resolve_learning_rate(double& learning_rate, const std::string& dataset, OptionList& resolved,
                           const std::string& option = "lr", double image_rate = 0.025,
                           double text_rate = 1.0) {
  if (learning_rate != 0)
    return;
  learning_rate = is_text_dataset(dataset) ? text_rate : image_rate;
  for (auto& [name, value] : resolved)
    if (name == option)
      value = value_text(learning_rate);
}

/// "CxHxW" -> {C, H, W}, each a positive integer.
std::array<int, 3> parse_input_shape(const std::string& text) {
  std::array<int, 3> dims{};
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t end = i < 2 ? text.find('x', pos) : text.size();
    const std::string part = end == std::string::npos ? std::string() : text.substr(pos, end - pos);
    const bool digits =
        !part.empty() && part.size() <= 6 &&
        std::all_of(part.begin(), part.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    require(digits && std::stoi(part) > 0,
            "--input '" + text + "': expected CxHxW with positive integers, e.g. 1x28x28");
    dims[i] = std::stoi(part);
    pos = end + 1;
  }
  return dims;
}

void require_partial_channels(int partial_channels, int channels) {
  require(partial_channels >= 1 && channels % partial_channels == 0,
          "--partial-channels " + std::to_string(partial_channels) +
              " must be at least 1 and divide --channels " + std::to_string(channels));
}

const char* const kPartialChannelsHelp =
    "PC-DARTS partial channel connections: each edge's operations see 1/N of the channels, the "
    "others bypass them (N divides --channels; 1: off; the paper uses 4)";

/// Options a resumed run does not take from its run file.
const std::set<std::string> kNotInherited = {"out",    "overwrite", "resume",
                                             "config", "help",      "export"};

// clang-format off
/// Options that may change between a run and its resumption.
const std::set<std::string> kNotDefining = {
    "budget",     "out",         "overwrite",         "resume",           "config",
    "help",       "threads",     "device",            "eval-timeout",     "fail-ids",
    "stop-skips", "stop-stable", "surrogate-seconds", "checkpoint-every", "checkpoint-seconds",
    "export",     "trainer-timeout",   "progress-seconds"};
// clang-format on

/// Options added after run files were first written, with the value that reproduces what a run
/// made before they existed computed. An option added with a default that changes nothing needs
/// no entry; one whose default changed behaviour does (Q(lambda) replaced the one-step update).
const std::map<std::string, std::string> kValueBeforeAdded = {
    {"q-lambda", "0"}, {"prefilter", "none"}, {"scheduler", "none"}};

/// Boost.Program_options 1.74 fills its error messages by replacing "%name%" placeholders until
/// none is left, so an option that contains one (e.g. %original_token%) never stops: found by
/// fuzzing the --config reader. Text with a %word% in it is refused first.
void reject_placeholder(const std::string& text, const std::string& where) {
  for (std::size_t open = text.find('%'); open != std::string::npos;
       open = text.find('%', open + 1)) {
    std::size_t end = open + 1;
    while (end < text.size() &&
           (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    if (end > open + 1 && end < text.size() && text[end] == '%')
      throw ConfigError(where + ": '" + text.substr(open, end - open + 1) +
                        "' is not allowed (a %word% in options stops their parser)");
  }
}

/// Parses args (and --config) into the variables bound in `options`; fills help and resolved.
template <typename Config>
void parse_into(Parsed<Config>& out, po::options_description& options,
                const std::vector<std::string>& args, const OptionList& base = {},
                const po::positional_options_description& positional = {}) {
  std::string config_file;
  po::options_description general("General");
  auto add = general.add_options();
  add("help,h", "print the options with their defaults and exit");
  add("config", po::value<std::string>(&config_file), "INI file of options; the command line wins");
  options.add(general);

  std::ostringstream help;
  help << options;
  out.help_text = help.str();

  po::variables_map vm;
  try {
    for (const auto& arg : args)
      reject_placeholder(arg, "argument '" + arg + "'");
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("config")) {
      const auto path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file)
        throw ConfigError("--config: cannot open '" + path + "'");
      std::ostringstream text;
      text << file.rdbuf();
      reject_placeholder(text.str(), "--config '" + path + "'");
      std::istringstream in(text.str());
      po::store(po::parse_config_file(in, options), vm);
    }
    // Stored last, so the command line and --config win over a resumed run file's options.
    std::vector<std::string> inherited;
    for (const auto& [name, value] : base)
      if (kNotInherited.count(name) == 0 && !value.empty() && options.find_nothrow(name, false))
        inherited.push_back("--" + name + "=" + value);
    po::store(po::command_line_parser(inherited).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  out.help = vm.count("help") > 0;
  for (const auto& [name, value] : vm)
    if (name != "help")
      out.resolved.emplace_back(name, value_text(value.value()));
}

} // namespace

std::vector<std::int64_t> parse_id_list(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used == item.size() && id >= 0,
            "--fail-ids: '" + item + "' is not a non-negative integer");
    ids.push_back(id);
  }
  return ids;
}

bool is_search_defining(const std::string& option) { return kNotDefining.count(option) == 0; }

std::string resume_target(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resume" && i + 1 < args.size())
      return args[i + 1];
    if (args[i].rfind("--resume=", 0) == 0)
      return args[i].substr(9);
  }
  return "";
}

OptionList with_options_added_since(const OptionList& run_file) {
  OptionList completed = run_file;
  for (const auto& added : kValueBeforeAdded)
    if (std::none_of(run_file.begin(), run_file.end(),
                     [&](const auto& option) { return option.first == added.first; }))
      completed.push_back(added);
  return completed;
}

std::string defining_differences(const OptionList& run_file, const OptionList& resolved) {
  const std::map<std::string, std::string> now(resolved.begin(), resolved.end());
  std::string differences;
  const OptionList completed = with_options_added_since(run_file); // the added ones last
  for (std::size_t i = 0; i < completed.size(); ++i) {
    const auto& [name, value] = completed[i];
    // An option added since the run was made counts for the commands that have it only.
    const bool added = i >= run_file.size();
    if (!is_search_defining(name) || (added && now.count(name) == 0))
      continue;
    const auto it = now.find(name);
    const std::string current = it == now.end() ? "(unset)" : it->second;
    if (current != value)
      differences += (differences.empty() ? "" : ", ") + ("--" + name) + " (run file " + value +
                     ", now " + current + ")";
  }
  return differences;
}

std::string defining_hash(const OptionList& resolved) {
  const std::map<std::string, std::string> sorted(resolved.begin(), resolved.end());
  std::uint64_t hash = space::kFnvOffset; // over "name=value\n" lines
  for (const auto& [name, value] : sorted)
    if (is_search_defining(name))
      hash = space::fnv1a(name + "=" + value + "\n", hash);
  return std::to_string(hash);
}

Parsed<SearchConfig> parse_search(const std::vector<std::string>& args, const OptionList& base) {
  Parsed<SearchConfig> out;
  SearchConfig& cfg = out.config;
  po::options_description options("hpcnas search [options]");
  po::options_description search("Search");
  auto add = search.add_options();
  add("strategy", bound(&cfg.strategy), "random | rl | evolution | qlearning | hybrid");
  add("evaluator", bound(&cfg.evaluator),
      "train (real training) | surrogate (a seeded function of the genotype)");
  add("budget", bound(&cfg.budget), "evaluations to record");
  add("seed", bound(&cfg.seed), "run seed: strategy and per-evaluation seeds derive from it");
  add("out", bound(&cfg.out), "HDF5 run file to create");
  add("overwrite", po::bool_switch(&cfg.overwrite), "replace an existing run file");
  add("fail-ids", bound(&cfg.fail_ids_text), "test hook: evaluation ids forced to fail, e.g. 2,5");
  add("trainer-timeout", bound(&cfg.trainer_timeout),
      "seconds a busy trainer may go unheard before its evaluation is recorded as lost "
      "(0: never)");
  add("progress-seconds", bound(&cfg.progress_seconds),
      "a trainer prints a line after a child's epoch when this many seconds passed since its "
      "last one (0: every epoch)");
  options.add(search);
  po::options_description checkpoints("Checkpoints and resume");
  auto add_checkpoint = checkpoints.add_options();
  add_checkpoint("resume", bound(&cfg.resume),
                 "continue the run file given (other options default to its own)");
  add_checkpoint("checkpoint-every", bound(&cfg.checkpoint_every),
                 "write a checkpoint every N results");
  add_checkpoint("checkpoint-seconds", bound(&cfg.checkpoint_seconds),
                 "write a checkpoint when this many seconds passed since the last");
  options.add(checkpoints);
  add_data_options(options, cfg.data);
  add_network_options(options, cfg.network);
  add_text_options(options, cfg.data, cfg.network);
  add_train_options(options, cfg.train);
  add_reward_options(options, cfg.reward);
  add_surrogate_options(options, cfg.surrogate);
  add_rl_options(options, cfg.rl);
  add_evolution_options(options, cfg.evolution);
  add_qlearning_options(options, cfg.qlearning);
  add_hybrid_options(options, cfg.hybrid);
  add_prefilter_options(options, cfg.prefilter);
  add_scheduler_options(options, cfg.scheduler);
  parse_into(out, options, args, base);
  if (out.help)
    return out;

  require_one_of("strategy", cfg.strategy, {"random", "rl", "evolution", "qlearning", "hybrid"});
  const QLearningConfig& q = cfg.qlearning;
  require(q.epsilon_start >= 0 && q.epsilon_start <= 1 && q.epsilon_end >= 0 &&
              q.epsilon_end <= 1,
          "--q-epsilon-start and --q-epsilon-end must be in [0, 1]");
  require(q.epsilon_stages >= 1, "--q-epsilon-stages must be at least 1");
  require(q.epsilon_span >= 0, "--q-epsilon-span must be 0 (the budget) or positive");
  require(q.learning_rate > 0 && q.learning_rate <= 1, "--q-lr must be in (0, 1]");
  require(q.replay >= 0, "--q-replay must be 0 or positive");
  require(q.lambda >= 0 && q.lambda <= 1, "--q-lambda must be in [0, 1]");
  require(cfg.hybrid.learning_rate > 0, "--hybrid-lr must be positive");
  require(cfg.hybrid.baseline_decay >= 0 && cfg.hybrid.baseline_decay < 1,
          "--hybrid-baseline-decay must be in [0, 1)");
  require_one_of("prefilter", cfg.prefilter.proxy, {"none", "synflow", "naswot"});
  require(cfg.prefilter.keep > 0 && cfg.prefilter.keep <= 1, "--prefilter-keep must be in (0, 1]");
  require(cfg.prefilter.candidates() <= 1000,
          "--prefilter-keep must be at least 0.001 (at most 1000 candidates per child)");
  require(cfg.prefilter.batch >= 2, "--prefilter-batch must be at least 2");
  require_one_of("scheduler", cfg.scheduler.kind, {"none", "asha"});
  require(cfg.scheduler.min_epochs >= 1, "--min-epochs must be at least 1");
  require(cfg.scheduler.max_epochs >= cfg.scheduler.min_epochs,
          "--max-epochs must be at least --min-epochs");
  require(cfg.scheduler.eta >= 2, "--eta must be at least 2");
  require_one_of("evaluator", cfg.evaluator, {"train", "surrogate"});
  require_dataset(cfg.data, cfg.network);
  if (is_text_dataset(cfg.data.dataset)) {
    require(
        cfg.evaluator == "train",
        "--evaluator surrogate imitates image cells only; a text dataset needs --evaluator train");
    require(cfg.prefilter.proxy == "none",
            "--prefilter scores image cells only; a text dataset needs --prefilter none");
  }
  require_one_of("reward", cfg.reward.kind, {"accuracy", "latency", "params"});
  require(cfg.budget >= 1, "--budget must be at least 1 (got " + std::to_string(cfg.budget) + ")");
  require(cfg.checkpoint_every >= 1, "--checkpoint-every must be at least 1");
  require(cfg.checkpoint_seconds > 0, "--checkpoint-seconds must be positive");
  if (!cfg.resume.empty())
    cfg.out = cfg.resume;
  require(!cfg.out.empty(), "--out must name a file");
  require(cfg.data.val_size >= 1, "--val-size must be at least 1");
  require(cfg.data.train_subset >= 0, "--train-subset must be 0 (all) or positive");
  require(cfg.data.val_subset >= 0, "--val-subset must be 0 (all) or positive");
  require(cfg.network.channels >= 1, "--channels must be at least 1");
  require(cfg.network.layers >= 3, "--layers must be at least 3 (two of them are reductions)");
  require(cfg.train.epochs >= 1, "--epochs must be at least 1");
  require(cfg.train.batch_size >= 1, "--batch-size must be at least 1");
  require(cfg.train.learning_rate >= 0, "--lr must be positive (or 0: the dataset's)");
  resolve_learning_rate(cfg.train.learning_rate, cfg.data.dataset, out.resolved);
  require(cfg.train.threads >= 0, "--threads must be 0 (default) or positive");
  require(cfg.train.eval_timeout >= 0, "--eval-timeout must be 0 (none) or positive");
  require(cfg.trainer_timeout >= 0, "--trainer-timeout must be 0 (never) or positive");
  require(cfg.progress_seconds >= 0, "--progress-seconds must be 0 (every epoch) or positive");
  require(cfg.train.latency_repeats >= 1, "--latency-repeats must be at least 1");
  require(cfg.train.latency_batch >= 1, "--latency-batch must be at least 1");
  require(cfg.surrogate.seconds >= 0, "--surrogate-seconds must not be negative");
  require(cfg.surrogate.noise >= 0, "--surrogate-noise must not be negative");
  require(cfg.rl.learning_rate > 0, "--rl-lr must be positive");
  require(cfg.rl.batch >= 1, "--rl-batch must be at least 1");
  require(cfg.rl.baseline_decay >= 0 && cfg.rl.baseline_decay < 1,
          "--rl-baseline-decay must be in [0, 1)");
  require(cfg.rl.entropy_weight >= 0, "--rl-entropy must not be negative");
  require(cfg.rl.temperature > 0, "--rl-temperature must be positive");
  require(cfg.rl.tanh_constant >= 0, "--rl-tanh-constant must be 0 (no clipping) or positive");
  require(cfg.rl.grad_clip > 0, "--rl-grad-clip must be positive");
  require(cfg.rl.hidden >= 1, "--rl-hidden must be at least 1");
  require(cfg.evolution.population >= 2, "--population must be at least 2");
  require(cfg.evolution.sample >= 1 && cfg.evolution.sample <= cfg.evolution.population,
          "--sample must be between 1 and --population (got " +
              std::to_string(cfg.evolution.sample) + ")");
  cfg.fail_ids = parse_id_list(cfg.fail_ids_text);
  return out;
}

Parsed<BenchConfig> parse_bench(const std::vector<std::string>& args) {
  Parsed<BenchConfig> out;
  BenchConfig& cfg = out.config;
  po::options_description options("hpcnas bench [options]");
  po::options_description bench("Benchmark");
  auto add = bench.add_options();
  add("what", bound(&cfg.what),
      "child: training steps of the DARTS_V2 child network | supernet: DARTS search steps | "
      "final: training steps of hpcnas train (DARTS_V2, Fashion-MNIST, auxiliary head, "
      "drop-path) | proxies: zero-cost proxies of the children of --from against their trained "
      "accuracy");
  add("order", bound(&cfg.order), "supernet: 1 (first-order) or 2 (second-order) DARTS step");
  add("partial-channels", bound(&cfg.partial_channels), kPartialChannelsHelp);
  add("batch-size", bound(&cfg.batch_size), "batch size");
  add("input", bound(&cfg.input), "input shape CxHxW");
  add("threads", bound(&cfg.threads), "LibTorch threads");
  add("device", bound(&cfg.device), "supernet: cpu | cuda");
  add("steps", bound(&cfg.steps), "timed steps");
  add("warmup", bound(&cfg.warmup), "untimed steps first");
  add("profile", bound(&cfg.profile),
      "write the operator trace of the timed steps to this file (Chrome trace JSON)");
  add("from", bound(&cfg.from),
      "proxies: search run file (children scored on one minibatch "
      "of --batch-size training images of its own dataset)");
  options.add(bench);
  add_network_options(options, cfg.network);
  parse_into(out, options, args);
  if (out.help)
    return out;
  require_one_of("what", cfg.what, {"child", "supernet", "final", "proxies"});
  require(cfg.what != "final" || cfg.input == "1x28x28",
          "--what final trains on Fashion-MNIST: --input must be 1x28x28");
  require(cfg.what == "proxies" ? !cfg.from.empty() : cfg.from.empty(),
          "--from goes with --what proxies, and --what proxies needs it");
  require_one_of("device", cfg.device, {"cpu", "cuda"});
  require(cfg.device == "cpu" || cfg.what == "supernet", "--device cuda is for --what supernet");
  require(cfg.order == 1 || cfg.order == 2, "--order must be 1 or 2");
  require(cfg.batch_size >= 2, "--batch-size must be at least 2 (BatchNorm in training mode)");
  require(cfg.threads >= 1, "--threads must be at least 1");
  require(cfg.steps >= 1, "--steps must be at least 1");
  require(cfg.warmup >= 0, "--warmup must not be negative");
  cfg.shape = parse_input_shape(cfg.input);
  require(cfg.network.channels >= 1, "--channels must be at least 1");
  require(cfg.network.layers >= 3, "--layers must be at least 3 (two of them are reductions)");
  require_partial_channels(cfg.partial_channels, cfg.network.channels);
  return out;
}

Parsed<ReportConfig> parse_report(const std::vector<std::string>& args) {
  Parsed<ReportConfig> out;
  ReportConfig& cfg = out.config;
  po::options_description options("hpcnas report [options] RUN.h5 [RUN2.h5 ...]");
  po::options_description report("Report");
  auto add = report.add_options();
  add("files", po::value<std::vector<std::string>>(&cfg.files)->multitoken(),
      "run files (search, darts or train; also given without the option name): what ran, the "
      "best genotypes, failures, the Pareto front; for several search files a comparison");
  add("scaling", po::value<std::vector<std::string>>(&cfg.scaling)->multitoken(),
      "run files of a scaling study (search or darts): throughput, speed-up and efficiency "
      "against the run with the fewest workers");
  add("top", bound(&cfg.top), "genotypes listed per search file, best reward first");
  add("target", bound(&cfg.target),
      "reward whose first reaching the comparison counts, in evaluations and hours (default: "
      "the lowest best reward of the files compared, which all of them reach)");
  add("csv", po::bool_switch(&cfg.csv), "print comma-separated values instead of tables");
  add("json", po::bool_switch(&cfg.json), "print one JSON document instead of tables");
  add("plots", bound(&cfg.plots),
      "also draw the report into this folder: PNG pictures, graphviz cells and index.html "
      "(scripts/report_plots.py, with /usr/bin/python3, matplotlib, h5py and graphviz)");
  options.add(report);
  po::positional_options_description positional;
  positional.add("files", -1);
  parse_into(out, options, args, {}, positional);
  if (out.help)
    return out;
  require(cfg.files.empty() != cfg.scaling.empty(),
          "give run files to report on, or --scaling with the run files of a scaling study");
  require(!(cfg.csv && cfg.json), "--csv and --json exclude each other");
  require(cfg.top >= 1, "--top must be at least 1");
  require(cfg.plots.empty() || cfg.scaling.empty(), "--plots draws run files, not --scaling");
  return out;
}

Parsed<DartsConfig> parse_darts(const std::vector<std::string>& args, const OptionList& base) {
  Parsed<DartsConfig> out;
  DartsConfig& cfg = out.config;
  po::options_description options("hpcnas darts [options]");
  po::options_description run("DARTS search");
  auto add = run.add_options();
  add("space", bound(&cfg.space),
      "image: normal and reduction cells (image datasets) | rnn: a recurrent cell (text datasets)");
  add("epochs", bound(&cfg.epochs), "search epochs");
  add("batch-size", bound(&cfg.batch_size), "global batch size (split across ranks)");
  add("accumulate", bound(&cfg.accumulate), "micro-batches per rank and step (K)");
  add("order", bound(&cfg.order), "1: first-order DARTS | 2: second-order (unrolled) DARTS");
  add("partial-channels", bound(&cfg.partial_channels), kPartialChannelsHelp);
  add("steps-per-epoch", bound(&cfg.steps_per_epoch), "stop each epoch after N steps (0: all)");
  add("stop-skips", bound(&cfg.stop_skips),
      "DARTS+ early stop: end the search once the normal cell has N skip connections (0: off; "
      "the paper uses 2)");
  add("stop-stable", bound(&cfg.stop_stable),
      "DARTS+ early stop: end the search once the derived genotype is unchanged for N epochs "
      "(0: off; the paper uses 10)");
  add("lr", po::value<double>(&cfg.learning_rate)->default_value(0),
      "initial SGD learning rate of the weights (cosine; 0: the space's, 0.025 for image cells, "
      "1 for a recurrent cell)");
  add("lr-min", bound(&cfg.min_learning_rate), "final learning rate of the cosine schedule");
  add("momentum", bound(&cfg.momentum), "SGD momentum");
  add("weight-decay", bound(&cfg.weight_decay), "SGD weight decay");
  add("grad-clip", bound(&cfg.grad_clip), "gradient norm clip of the weights");
  add("arch-lr", po::value<double>(&cfg.arch_learning_rate)->default_value(0),
      "Adam learning rate of alpha (0: the space's, DARTS's 3e-4 for image cells and 3e-3 for a "
      "recurrent cell)");
  add("arch-beta1", bound(&cfg.arch_beta1), "Adam beta1 of alpha");
  add("arch-beta2", bound(&cfg.arch_beta2), "Adam beta2 of alpha");
  add("arch-weight-decay", bound(&cfg.arch_weight_decay), "Adam weight decay of alpha");
  add("threads", bound(&cfg.threads), "LibTorch threads per rank (0: LibTorch's default)");
  add("device", bound(&cfg.device),
      "cpu | cuda: the GPU of the rank's local rank; more than one rank needs the NCCL build");
  add("seed", bound(&cfg.seed), "seed of the initialisation and the batch order");
  add("out", bound(&cfg.out), "HDF5 run file to create");
  add("overwrite", po::bool_switch(&cfg.overwrite), "replace an existing run file");
  options.add(run);
  po::options_description checkpoints("Checkpoints and resume");
  auto add_checkpoint = checkpoints.add_options();
  add_checkpoint("resume", bound(&cfg.resume),
                 "continue the DARTS run file given (other options default to its own)");
  add_checkpoint("checkpoint-seconds", bound(&cfg.checkpoint_seconds),
                 "also checkpoint within an epoch when this many seconds passed since the last "
                 "(every epoch end checkpoints)");
  options.add(checkpoints);
  add_data_options(options, cfg.data);
  add_network_options(options, cfg.network);
  add_text_options(options, cfg.data, cfg.network);
  parse_into(out, options, args, base);
  if (out.help)
    return out;

  require_one_of("space", cfg.space, {"image", "rnn"});
  require_dataset(cfg.data, cfg.network);
  const bool text = is_text_dataset(cfg.data.dataset);
  require(text == (cfg.space == "rnn"),
          text ? "--dataset " + cfg.data.dataset +
                     " holds texts: search a recurrent cell with "
                     "--space rnn"
               : "--space rnn searches a recurrent cell for texts: use --dataset spamassassin or "
                 "text-folder");
  require(!text || cfg.partial_channels == 1,
          "--partial-channels applies to image cells, not to --space rnn");
  require(!text || cfg.stop_skips == 0,
          "--stop-skips counts skip connections of image cells, not of --space rnn");
  resolve_learning_rate(cfg.learning_rate, cfg.data.dataset, out.resolved);
  resolve_learning_rate(cfg.arch_learning_rate, cfg.data.dataset, out.resolved, "arch-lr", 3e-4,
                        3e-3);
  require(cfg.epochs >= 1, "--epochs must be at least 1");
  require(cfg.batch_size >= 2, "--batch-size must be at least 2");
  require(cfg.accumulate >= 1, "--accumulate must be at least 1");
  require(cfg.order == 1 || cfg.order == 2, "--order must be 1 or 2");
  require(cfg.steps_per_epoch >= 0, "--steps-per-epoch must be 0 (all) or positive");
  require(cfg.stop_skips >= 0 && cfg.stop_skips <= 8, "--stop-skips must be between 0 and 8");
  require(cfg.stop_stable >= 0, "--stop-stable must be 0 (off) or positive");
  require(cfg.learning_rate > 0, "--lr must be positive");
  require(cfg.min_learning_rate >= 0, "--lr-min must not be negative");
  require(cfg.momentum >= 0, "--momentum must not be negative");
  require(cfg.weight_decay >= 0, "--weight-decay must not be negative");
  require(cfg.grad_clip >= 0, "--grad-clip must be 0 (none) or positive");
  require(cfg.arch_learning_rate > 0, "--arch-lr must be positive");
  require(cfg.arch_beta1 >= 0 && cfg.arch_beta1 < 1, "--arch-beta1 must be in [0, 1)");
  require(cfg.arch_beta2 >= 0 && cfg.arch_beta2 < 1, "--arch-beta2 must be in [0, 1)");
  require(cfg.arch_weight_decay >= 0, "--arch-weight-decay must not be negative");
  require(cfg.threads >= 0, "--threads must be 0 (default) or positive");
  require_one_of("device", cfg.device, {"cpu", "cuda"});
  require(cfg.checkpoint_seconds > 0, "--checkpoint-seconds must be positive");
  if (!cfg.resume.empty())
    cfg.out = cfg.resume;
  require(!cfg.out.empty(), "--out must name a file");
  require(cfg.data.val_size >= 1, "--val-size must be at least 1");
  require(cfg.data.train_subset >= 0, "--train-subset must be 0 (all) or positive");
  require(cfg.data.val_subset >= 0, "--val-subset must be 0 (all) or positive");
  require(cfg.network.channels >= 1, "--channels must be at least 1");
  require(cfg.network.layers >= 3, "--layers must be at least 3 (two of them are reductions)");
  require_partial_channels(cfg.partial_channels, cfg.network.channels);
  return out;
}

Parsed<FinalTrainConfig> parse_train(const std::vector<std::string>& args, const OptionList& base) {
  Parsed<FinalTrainConfig> out;
  FinalTrainConfig& cfg = out.config;
  po::options_description options("hpcnas train [options]");
  po::options_description model("Genotype");
  auto add_model = model.add_options();
  add_model("genotype", bound(&cfg.genotype),
            "the genotype to train, in DARTS text: Genotype(normal=[('sep_conv_3x3', 0), ...], "
            "normal_concat=..., reduce=[...], reduce_concat=...)");
  add_model("from", bound(&cfg.from),
            "or: a search or darts run file; its best genotype (darts: of the last epoch)");
  add_model("pick", bound(&cfg.pick), "--from a search run file: best (by reward) or an id");
  add_model("baseline", bound(&cfg.baseline),
            "or, on a text dataset: lstm | gru, a plain LSTM or GRU in the cell's place");
  options.add(model);
  po::options_description run("Final training (DARTS's evaluation protocol)");
  auto add = run.add_options();
  add("epochs", bound(&cfg.epochs), "training epochs");
  add("batch-size", bound(&cfg.batch_size), "global batch size (split across ranks)");
  add("accumulate", bound(&cfg.accumulate), "micro-batches per rank and step (K)");
  add("steps-per-epoch", bound(&cfg.steps_per_epoch), "stop each epoch after N steps (0: all)");
  add("lr", po::value<double>(&cfg.learning_rate)->default_value(0),
      "initial SGD learning rate (cosine per epoch; 0: the dataset's, 0.025 for images, 1 for "
      "texts)");
  add("lr-min", bound(&cfg.min_learning_rate), "final learning rate of the cosine schedule");
  add("momentum", bound(&cfg.momentum), "SGD momentum");
  add("weight-decay", bound(&cfg.weight_decay), "SGD weight decay");
  add("grad-clip", bound(&cfg.grad_clip), "gradient norm clip (0: none)");
  add("auxiliary-weight", bound(&cfg.auxiliary_weight),
      "weight of the auxiliary head's loss (0: no auxiliary head)");
  add("drop-path", bound(&cfg.drop_path),
      "drop-path probability, rising linearly from 0 to this over the epochs (0: off)");
  add("cutout", bound(&cfg.cutout), "cutout square side in pixels (0: off)");
  add("crop-padding", bound(&cfg.crop_padding),
      "random crop of the image zero-padded by this many pixels (0: off)");
  add("flip", po::value<bool>(&cfg.flip)->default_value(cfg.flip),
      "random horizontal flip (true | false)");
  add("threads", bound(&cfg.threads), "LibTorch threads per rank (0: LibTorch's default)");
  add("device", bound(&cfg.device),
      "cpu | cuda: the GPU of the rank's local rank; more than one rank needs the NCCL build");
  add("seed", bound(&cfg.seed), "seed of the initialisation, batch order and augmentation");
  add("out", bound(&cfg.out), "HDF5 run file to create");
  add("overwrite", po::bool_switch(&cfg.overwrite), "replace an existing run file");
  add("export", bound(&cfg.export_path),
      "write the trained network to this ONNX file (inference mode, normalisation included)");
  options.add(run);
  po::options_description checkpoints("Checkpoints and resume");
  auto add_checkpoint = checkpoints.add_options();
  add_checkpoint("resume", bound(&cfg.resume),
                 "continue the train run file given (other options default to its own)");
  add_checkpoint("checkpoint-seconds", bound(&cfg.checkpoint_seconds),
                 "also checkpoint within an epoch when this many seconds passed since the last "
                 "(every epoch end checkpoints)");
  options.add(checkpoints);
  po::options_description data("Data");
  auto add_data = data.add_options();
  add_data("dataset", bound(&cfg.data.dataset),
           "fashion-mnist | mnist | cifar10 | synthetic | spamassassin | text-folder");
  add_data("data-dir", bound(&cfg.data.data_dir),
           "folder of the dataset files (empty: the dataset's default)");
  add_data("holdout", bound(&cfg.holdout),
           "training images kept out for model selection (0: train on all)");
  add_data("train-subset", bound(&cfg.data.train_subset),
           "train on this many images (0: all but the holdout)");
  add_data("split-seed", bound(&cfg.data.split_seed), "seed of the holdout permutation");
  options.add(data);
  add_network_options(options, cfg.network);
  add_text_options(options, cfg.data, cfg.network);
  parse_into(out, options, args, base);
  if (out.help)
    return out;

  const int sources = !cfg.genotype.empty() + !cfg.from.empty() + !cfg.baseline.empty();
  require(sources == 1 || (!cfg.resume.empty() && sources == 0),
          "give exactly one of --genotype, --from and --baseline");
  require_dataset(cfg.data, cfg.network);
  if (!cfg.baseline.empty())
    require_one_of("baseline", cfg.baseline, {"lstm", "gru"});
  if (is_text_dataset(cfg.data.dataset)) {
    require(cfg.export_path.empty(), "--export: ONNX export of text classifiers is not supported");
    require(cfg.holdout == 0,
            "--holdout is for image datasets; a text dataset's holdout is its validation split");
  } else {
    require(cfg.baseline.empty(), "--baseline needs a text dataset (spamassassin, text-folder)");
  }
  require(cfg.epochs >= 1, "--epochs must be at least 1");
  require(cfg.batch_size >= 2, "--batch-size must be at least 2");
  require(cfg.accumulate >= 1, "--accumulate must be at least 1");
  require(cfg.steps_per_epoch >= 0, "--steps-per-epoch must be 0 (all) or positive");
  require(cfg.learning_rate >= 0, "--lr must be positive (or 0: the dataset's)");
  resolve_learning_rate(cfg.learning_rate, cfg.data.dataset, out.resolved);
  require(cfg.min_learning_rate >= 0, "--lr-min must not be negative");
  require(cfg.momentum >= 0, "--momentum must not be negative");
  require(cfg.weight_decay >= 0, "--weight-decay must not be negative");
  require(cfg.grad_clip >= 0, "--grad-clip must be 0 (none) or positive");
  require(cfg.auxiliary_weight >= 0, "--auxiliary-weight must not be negative");
  require(cfg.drop_path >= 0 && cfg.drop_path < 1, "--drop-path must be in [0, 1)");
  require(cfg.cutout >= 0, "--cutout must be 0 (off) or positive");
  require(cfg.crop_padding >= 0, "--crop-padding must be 0 (off) or positive");
  require(cfg.holdout >= 0, "--holdout must be 0 (none) or positive");
  require(cfg.threads >= 0, "--threads must be 0 (default) or positive");
  require_one_of("device", cfg.device, {"cpu", "cuda"});
  require(cfg.checkpoint_seconds > 0, "--checkpoint-seconds must be positive");
  if (!cfg.resume.empty())
    cfg.out = cfg.resume;
  require(!cfg.out.empty(), "--out must name a file");
  require(cfg.data.train_subset >= 0, "--train-subset must be 0 (all) or positive");
  require(cfg.network.channels >= 1, "--channels must be at least 1");
  require(cfg.network.layers >= 3, "--layers must be at least 3 (two of them are reductions)");
  return out;
}

} // namespace hpcnas::config
