#pragma once
/// Plain configuration structs, one per concern, filled by config/options.hpp.
/// Every part takes only the struct it needs, so no part depends on Boost.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hpcnas::config {

/// Where images come from and how the training set is split.
struct DataConfig {
  std::string dataset = "fashion-mnist"; ///< fashion-mnist | mnist | cifar10 | synthetic
  std::string data_dir;                  ///< empty: the dataset's default folder
  int val_size = 10000;                  ///< images held out of the training set for validation
  int train_subset = 0;                  ///< >0: train children on this many images only
  int val_subset = 0;                    ///< >0: evaluate children on this many validation images
  std::uint64_t split_seed = 0;          ///< seed of the train/validation permutation
  // Text datasets (spamassassin, text-folder): a stratified split by fractions of the corpus.
  double val_fraction = 0.1;  ///< share of each class held out for validation
  double test_fraction = 0.2; ///< share of each class held out for the test split
  int max_tokens = 256;       ///< tokens read from the start of each text
  int vocab_size = 20000;     ///< ids of the vocabulary, padding and unknown included
};

/// A dataset of texts (whose children are recurrent cells) rather than images.
inline bool is_text_dataset(const std::string& dataset) {
  return dataset == "spamassassin" || dataset == "text-folder";
}

/// Shape of a child network built from a genotype.
struct NetworkConfig {
  int channels = 16; ///< C, the initial channel count
  int layers = 8;    ///< L cells; reductions at L/3 and 2L/3
  int stem_multiplier = 3;
  int embedding = 64; ///< text classifiers: token embedding width
  int hidden = 64;    ///< text classifiers: hidden state width
  int rnn_nodes = 8;  ///< text classifiers: nodes of a searched recurrent cell
};

/// How one child is trained (SGD, momentum, cosine schedule, clipping).
struct TrainConfig {
  int epochs = 1;
  int batch_size = 64;
  double learning_rate = 0.025;
  double min_learning_rate = 0.001;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0;
  int threads = 0;         ///< intra-op threads per rank; 0 = leave LibTorch's default
  double eval_timeout = 0; ///< seconds; 0 = no limit
  int latency_repeats = 5; ///< timed forwards for the latency median
  int latency_batch = 1;   ///< batch size of the latency measurement
};

/// How a finished evaluation becomes one scalar reward.
struct RewardConfig {
  std::string kind = "accuracy"; ///< accuracy | latency | params
  double target_latency_ms = 10; ///< latency form: acc * (lat / target)^w
  double latency_weight = -0.07; ///< w in the MnasNet soft constraint
  double max_params = 0;         ///< params form: reward 0 above this budget (0: unlimited)
};

/// The deterministic stand-in for training, used to compare strategies and to measure the pool.
struct SurrogateConfig {
  double seconds = 0;               ///< sleep per evaluation, imitating training time
  double noise = 0;                 ///< std-dev of seeded noise added per evaluation
  std::uint64_t landscape_seed = 0; ///< which surrogate landscape; independent of the run seed
};

/// The REINFORCE controller of `--strategy rl` (NASNet/ENAS): an LSTM policy over the cell
/// decisions, trained on the rewards in arrival order.
struct RlConfig {
  double learning_rate = 0.02;  ///< Adam; ENAS's 3.5e-4 learns too little in a few hundred results
  int batch = 5;                ///< M: one policy update every M results
  double baseline_decay = 0.95; ///< exponential moving-average baseline
  double entropy_weight = 1e-4; ///< weight of the entropy bonus in the loss
  double temperature = 5.0;     ///< logits are divided by it before the tanh (ENAS: 5.0)
  double tanh_constant = 2.5;   ///< logits = c * tanh(logits / temperature) (ENAS: 2.5)
  double grad_clip = 5.0;       ///< gradient norm clip of the policy
  int hidden = 64;              ///< LSTM hidden size
};

/// Regularized (aging) evolution of `--strategy evolution` (Real et al., 2019).
struct EvolutionConfig {
  int population = 20; ///< P: once P results are in, each new one makes the oldest die
  int sample = 10;     ///< S: members drawn per tournament; the fittest is the parent
};

/// The mutation policy of `--strategy hybrid` (aging evolution whose mutations a policy trained
/// by REINFORCE chooses); its population and tournament are EvolutionConfig's.
struct HybridConfig {
  double learning_rate = 0.3;  ///< REINFORCE step on the policy's logits
  double baseline_decay = 0.9; ///< moving average of the children's improvements and their spread
};

/// MetaQNN's tabular Q-learning of `--strategy qlearning` (Baker et al., 2017).
struct QLearningConfig {
  double epsilon_start = 1.0; ///< share of architectures drawn at random at first
  double epsilon_end = 0.1;   ///< ... and at the end of the schedule
  int epsilon_stages = 10;    ///< epsilon falls in this many equal stages
  int epsilon_span = 50;      ///< proposals over which it falls; 0: the budget (MetaQNN)
  double learning_rate = 0.1; ///< MetaQNN: 0.01
  double lambda = 0.97;       ///< Peng's Q(lambda) along a replayed path; 0: one-step (MetaQNN)
  int replay = 100;           ///< experiences replayed after each result
  double initial_q = 0.5;     ///< Q of a state-action pair never updated
};

/// Asynchronous successive halving of `--scheduler asha` (Li et al., 2020): children start with
/// min_epochs of training; one in the top 1/eta of its rung goes on to the next rung, continuing
/// from its saved weights. Rungs: min_epochs * eta^k below max_epochs, then max_epochs.
struct SchedulerConfig {
  std::string kind = "none"; ///< none | asha
  int min_epochs = 1;
  int max_epochs = 27;
  int eta = 3;

  bool asha() const { return kind == "asha"; }
};

/// Rank 0's zero-cost prefilter of `--prefilter`: each child sent to a trainer is the best, by a
/// proxy of its untrained network, of 1/keep candidates drawn from the strategy.
struct PrefilterConfig {
  std::string proxy = "none"; ///< none | synflow | naswot
  double keep = 0.25;         ///< share of the candidates drawn that are evaluated
  int batch = 64;             ///< training images the proxy sees (synflow uses their shape only)

  /// Candidates drawn per child evaluated: 1/keep, rounded.
  int candidates() const { return static_cast<int>(1.0 / keep + 0.5); }
};

/// Everything `hpcnas search` needs.
struct SearchConfig {
  std::string strategy = "random";
  std::string evaluator = "train"; ///< train | surrogate
  int budget = 20;                 ///< number of evaluations to record
  std::uint64_t seed = 1;
  std::string out = "hpcnas-run.h5";
  bool overwrite = false;
  std::string fail_ids_text;          ///< test hook --fail-ids as given: comma-separated ids
  std::vector<std::int64_t> fail_ids; ///< the same ids, parsed (forced to fail)
  std::string resume;              ///< run file to continue (its checkpoint is beside it)
  int checkpoint_every = 10;       ///< results between checkpoints
  double checkpoint_seconds = 300; ///< seconds between checkpoints
  double trainer_timeout = 60;     ///< a busy trainer silent this long is lost; 0 = never
  double progress_seconds = 10;    ///< a trainer's child epoch lines at least this far apart
  DataConfig data;
  NetworkConfig network;
  TrainConfig train;
  RewardConfig reward;
  SurrogateConfig surrogate;
  RlConfig rl;
  EvolutionConfig evolution;
  QLearningConfig qlearning;
  HybridConfig hybrid;
  PrefilterConfig prefilter;
  SchedulerConfig scheduler;
};

/// Everything `hpcnas darts` needs: the bilevel supernet search of DARTS (Liu et al., 2019),
/// data-parallel over the ranks. Defaults follow the paper's CIFAR-10 search.
struct DartsConfig {
  std::string space = "image"; ///< image | rnn: image cells, or a recurrent cell (text datasets)
  int epochs = 50;
  int batch_size = 64;          ///< global batch: split across ranks and --accumulate
  int accumulate = 1;           ///< K micro-batches per rank and step, gradients summed
  int order = 1;                ///< 1: first order; 2: unrolled step, finite-difference HVP
  int partial_channels = 1;     ///< PC-DARTS: edges mix C/K channels, the rest bypass (1: off)
  int steps_per_epoch = 0;      ///< >0: stop each epoch after this many steps (tests, trials)
  double learning_rate = 0.025; ///< SGD on the weights, cosine schedule per epoch (rnn: 1)
  double min_learning_rate = 0.001;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0;
  double arch_learning_rate = 3e-4; ///< Adam on alpha (rnn: 3e-3)
  double arch_beta1 = 0.5;
  double arch_beta2 = 0.999;
  double arch_weight_decay = 1e-3;
  int threads = 0; ///< intra-op threads per rank; 0 = leave LibTorch's default
  std::string device = "cpu"; ///< cpu | cuda (the GPU of the rank's local rank)
  int stop_skips = 0;  ///< DARTS+: stop when the normal cell has this many skips (0: off)
  int stop_stable = 0; ///< DARTS+: stop when the genotype is unchanged this many epochs (0: off)
  std::uint64_t seed = 1;
  std::string out = "hpcnas-darts.h5";
  bool overwrite = false;
  std::string resume;              ///< run file to continue (its checkpoint is beside it)
  double checkpoint_seconds = 600; ///< also checkpoint within an epoch after this long
  DataConfig data;
  NetworkConfig network;
};

/// Everything `hpcnas train` needs: a genotype trained from scratch under DARTS's evaluation
/// protocol (its train.py), data-parallel over the ranks, then tested and exported. Defaults are
/// the DARTS paper's CIFAR-10 values.
struct FinalTrainConfig {
  std::string genotype;      ///< DARTS text; or:
  std::string from;          ///< a search or darts run file to take the genotype from; or:
  std::string baseline;      ///< lstm | gru: a baseline text classifier (text datasets)
  std::string pick = "best"; ///< --from a search file: best (by reward) or an evaluation id
  int epochs = 600;
  int batch_size = 96;          ///< global batch: split across ranks and --accumulate
  int accumulate = 1;           ///< K micro-batches per rank and step, gradients summed
  int steps_per_epoch = 0;      ///< >0: stop each epoch after this many steps (tests, trials)
  double learning_rate = 0.025; ///< SGD, cosine schedule per epoch down to min_learning_rate
  double min_learning_rate = 0;
  double momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0;
  double auxiliary_weight = 0.4; ///< weight of the auxiliary head's loss (0: no head)
  double drop_path = 0.2;        ///< drop-path probability of the last epoch (linear ramp)
  int cutout = 16;               ///< cutout square side in pixels (0: off)
  int crop_padding = 4;          ///< random crop after zero padding by this much (0: off)
  bool flip = true;              ///< random horizontal flip
  int holdout = 0;               ///< training images kept out for model selection
  int threads = 0;               ///< intra-op threads per rank; 0 = LibTorch's default
  std::string device = "cpu";    ///< cpu | cuda
  std::uint64_t seed = 1;
  std::string out = "hpcnas-train.h5";
  bool overwrite = false;
  std::string export_path;         ///< ONNX file written after training ("" = none)
  std::string resume;              ///< run file to continue (its checkpoint is beside it)
  double checkpoint_seconds = 600; ///< also checkpoint within an epoch after this long
  DataConfig data;
  NetworkConfig network{36, 20, 3};
};

/// `hpcnas bench`: times training steps of a child network on random data.
struct BenchConfig {
  std::string what = "child"; ///< child | supernet | final | proxies
  int order = 1;              ///< supernet: first- or second-order DARTS step
  int partial_channels = 1;   ///< supernet: PC-DARTS partial channels K (1: off)
  int batch_size = 64;
  std::string input = "1x28x28";      ///< as given, CxHxW
  std::array<int, 3> shape{1, 28, 28}; ///< `input` parsed: {C, H, W}
  int threads = 2;
  std::string device = "cpu"; ///< supernet: cpu | cuda
  int steps = 10;
  int warmup = 2;
  std::string profile; ///< Chrome trace of the timed steps ("" = none)
  std::string from;    ///< proxies: the search run file whose children are scored
  NetworkConfig network;
};

/// `hpcnas report`.
struct ReportConfig {
  std::vector<std::string> files;   ///< run files to report on (any kind)
  std::vector<std::string> scaling; ///< run files of one scaling study
  int top = 5;                      ///< genotypes listed per search file
  double target = 0;                ///< reward of "evaluations to reach"; 0: the lowest best
  bool csv = false;                 ///< comma-separated values instead of markdown tables
  bool json = false;                ///< one JSON document instead of markdown tables
  std::string plots;                ///< folder for pictures and index.html ("" : none)
};

} // namespace hpcnas::config
