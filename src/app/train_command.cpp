#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/genotype_source.hpp"
#include "hpcnas/app/progress.hpp"
#include "hpcnas/app/signals.hpp"
#include "hpcnas/comm/collective.hpp"
#include "hpcnas/retrain/final_training.hpp"
#include "hpcnas/store/checkpoint.hpp"
#include "hpcnas/store/train_file.hpp"

namespace hpcnas::app {

namespace {

constexpr const char* kKind = "train";
constexpr int kExportCheckImages = 16; ///< test images whose logits go beside the ONNX model

/// Rank 0's side of a final training: run file, checkpoints and log.
class TrainRecorder {
public:
  TrainRecorder(const config::FinalTrainConfig& cfg, const store::RunAttributes& attrs,
                const store::TrainSource& source)
      : cfg_(cfg), config_hash_(checkpoint_hash(attrs.config, cfg.resume.empty() ? "" : cfg.out)) {
    if (cfg.resume.empty()) {
      file_ = std::make_unique<store::TrainFile>(
          store::TrainFile::create(cfg.out, cfg.overwrite, attrs, source));
      created_ = true;
      return;
    }
    file_ = std::make_unique<store::TrainFile>(store::TrainFile::open_append(cfg.out));
    const std::string differences =
        config::defining_differences(store::read_config(cfg.out), attrs.config);
    if (!differences.empty())
      throw config::ConfigError("--resume " + cfg.out +
                                ": options differ from the run's: " + differences);
    const auto loaded = store::load_epoch_checkpoint(cfg.out, kKind);
    const std::int64_t kept = loaded ? loaded->checkpoint.epoch : 0;
    if (loaded) {
      if (loaded->checkpoint.config_hash != config_hash_)
        throw config::ConfigError("--resume " + cfg.out +
                                  ": the checkpoint was written for other training options");
      if (!loaded->fallback.empty())
        std::cout << "[hpcnas] " << loaded->fallback << "; using the previous checkpoint "
                  << loaded->path << std::endl;
      state_ = loaded->checkpoint.state;
    }
    file_->truncate(kept); // epochs after the checkpoint are computed again
    std::cout << "[hpcnas] resumed " << cfg.out << ": "
              << where_resumed(loaded.has_value(), kept, loaded ? loaded->checkpoint.step : 0)
              << std::endl;
  }

  /// Where a resumed training continues: the checkpoint holds `kept` finished epochs and `step`
  /// steps of the next one.
  std::string where_resumed(bool loaded, std::int64_t kept, std::int64_t step) const {
    if (!loaded)
      return "no checkpoint, from the beginning";
    if (kept >= cfg_.epochs)
      return "checkpoint after all " + std::to_string(kept) + " epochs, nothing left to train";
    if (step == 0)
      return "checkpoint after epoch " + std::to_string(kept) + " of " +
             std::to_string(cfg_.epochs) + ", continuing with epoch " + std::to_string(kept + 1);
    return "checkpoint in epoch " + std::to_string(kept + 1) + " of " +
           std::to_string(cfg_.epochs) + ", at step " + std::to_string(step);
  }

  void abandon() {
    if (created_) {
      file_.reset();
      std::filesystem::remove(cfg_.out);
    }
  }
  const std::vector<char>& resume_state() const { return state_; }

  void record(const retrain::TrainEpochRow& r) {
    file_->append(r);
    seconds_ += r.epoch_seconds;
    ++epochs_;
    const double eta = seconds_ / epochs_ * (cfg_.epochs - r.epoch - 1);
    std::printf("[hpcnas] epoch %lld/%d: lr %.5f drop-path %.3f, train loss %.4f acc %.4f, "
                "test loss %.4f acc %.4f%s, %.1f s, eta %s\n",
                static_cast<long long>(r.epoch + 1), cfg_.epochs, r.learning_rate, r.drop_path,
                r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy,
                cfg_.holdout > 0 ? (", holdout acc " + std::to_string(r.holdout_accuracy)).c_str()
                                 : "",
                r.epoch_seconds, clock_text(eta).c_str());
    std::fflush(stdout);
  }

  void progress(int epoch, std::int64_t step, std::int64_t steps, double loss, double accuracy,
                double epoch_seconds) const {
    std::printf("[hpcnas] epoch %d/%d step %lld/%lld: train loss %.4f acc %.4f, epoch eta %s\n",
                epoch + 1, cfg_.epochs, static_cast<long long>(step), static_cast<long long>(steps),
                loss, accuracy, clock_text(epoch_seconds / step * (steps - step)).c_str());
    std::fflush(stdout);
  }

  void checkpoint(const retrain::FinalTraining& training, retrain::Position position) {
    const auto start = std::chrono::steady_clock::now();
    store::write_checkpoint(cfg_.out, kKind,
                            {training.save_state(), config_hash_, position.epoch, position.step});
    times_.add(1000 *
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  void finish(const retrain::TestResults& test) {
    file_->write_test(test);
    const auto per_class = test.per_class_accuracy();
    std::printf("[hpcnas] test accuracy %.4f (loss %.4f); per class:", test.accuracy, test.loss);
    for (double a : per_class)
      std::printf(" %.3f", a);
    std::printf("; worst class %d at %.4f\n", test.worst_class(), per_class[test.worst_class()]);
    std::fflush(stdout);
  }

  void exported(const retrain::ExportSample& sample) {
    file_->write_export(sample);
    std::cout << "[hpcnas] ONNX model: " << std::filesystem::absolute(sample.onnx_path).string()
              << std::endl;
  }

  void stopped(retrain::Position position) const {
    times_.print(std::cout);
    std::cout << "[hpcnas] stopped by signal " << stop_signal_number() << " at epoch "
              << position.epoch + 1 << ", step " << position.step
              << "; checkpoint written; continue with: hpcnas train --resume " << cfg_.out
              << std::endl;
  }

  void done() const {
    times_.print(std::cout);
    std::cout << "[hpcnas] run file: " << std::filesystem::absolute(cfg_.out).string() << std::endl;
  }

private:
  const config::FinalTrainConfig& cfg_;
  std::string config_hash_;
  std::unique_ptr<store::TrainFile> file_;
  std::vector<char> state_;
  bool created_ = false;
  double seconds_ = 0; ///< of the epochs this process ran, for the ETA
  int epochs_ = 0;
  CheckpointTimes times_;
};

/// The genotype to train and where it came from; a resumed run keeps its own.
store::TrainSource resolve_source(const config::FinalTrainConfig& cfg) {
  store::TrainSource source;
  if (!cfg.resume.empty()) {
    source.genotype = store::read_train(cfg.resume).source.genotype;
  } else if (!cfg.from.empty()) {
    const PickedGenotype picked = pick_genotype(cfg.from, cfg.pick);
    source.genotype = picked.genotype.to_string();
    source.source_run = std::filesystem::absolute(cfg.from).string();
    source.source_seconds = picked.source_seconds;
  } else if (!cfg.baseline.empty()) {
    source.genotype = cfg.baseline;
  } else {
    source.genotype = space::Architecture::parse(cfg.genotype).to_string();
  }
  return source;
}

} // namespace

int run_train(const comm::MpiContext& ctx, const config::Parsed<config::FinalTrainConfig>& parsed,
              const std::string& command_line) {
  const config::FinalTrainConfig& cfg = parsed.config;
  std::unique_ptr<comm::Collective> host;
  std::unique_ptr<comm::Collective> gpu_tensors;
  std::unique_ptr<retrain::FinalTraining> training;
  std::unique_ptr<TrainRecorder> recorder;
  const store::RunAttributes attrs{command_line, parsed.resolved, ctx.size(), ctx.count_nodes()};
  std::string error;
  try {
    host = comm::make_mpi_collective();
    if (cfg.device == "cuda" && ctx.size() > 1)
      gpu_tensors = comm::make_nccl_collective();
    if (cfg.resume.empty() && !cfg.from.empty())
      verify_run_file(ctx, cfg.from); // --resume's file was verified with its options
    store::TrainSource source = resolve_source(cfg);
    const auto model = retrain::TrainedModel::parse(source.genotype);
    training = std::make_unique<retrain::FinalTraining>(cfg, model, *host,
                                                        gpu_tensors ? *gpu_tensors : *host);
    source.parameters = training->parameters();
    if (ctx.is_controller()) {
      recorder = std::make_unique<TrainRecorder>(cfg, attrs, source);
      std::cout << "[hpcnas] train: " << source.genotype << "\n[hpcnas] " << source.parameters
                << " parameters, "
                << (model.is_text() ? "embedding=" + std::to_string(cfg.network.embedding) +
                                          " hidden=" + std::to_string(cfg.network.hidden)
                                    : "C=" + std::to_string(cfg.network.channels) +
                                          " layers=" + std::to_string(cfg.network.layers))
                << " epochs=" << cfg.epochs << " batch=" << cfg.batch_size
                << " ranks=" << ctx.size() << " device=" << cfg.device
                << " dataset=" << cfg.data.dataset << " run file=" << cfg.out << std::endl;
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  error = ctx.agree_on_error(error);
  if (error.empty() && !cfg.resume.empty()) {
    try {
      training->resume(recorder ? recorder->resume_state() : std::vector<char>{});
    } catch (const std::exception& e) {
      error = "--resume " + cfg.out + ": " + e.what();
    }
  }
  if (!error.empty()) {
    if (recorder)
      recorder->abandon();
    if (ctx.is_controller())
      std::cerr << "hpcnas train: error: " << error << std::endl;
    return kExitBadInput;
  }

  return run_together(ctx, "train", [&] {
    retrain::Hooks hooks;
    auto epoch_start = std::chrono::steady_clock::now();
    hooks.on_epoch = [&](const retrain::TrainEpochRow& r) {
      if (recorder)
        recorder->record(r);
      epoch_start = std::chrono::steady_clock::now();
    };
    hooks.on_progress = [&](int epoch, std::int64_t step, std::int64_t steps, double loss,
                            double accuracy) {
      if (recorder)
        recorder->progress(
            epoch, step, steps, loss, accuracy,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count());
    };
    hooks.checkpoint = [&](retrain::Position position) {
      if (recorder)
        recorder->checkpoint(*training, position);
    };
    hooks.stop_requested = stop_signalled;
    hooks.checkpoint_seconds = cfg.checkpoint_seconds;
    if (training->run(hooks) == retrain::RunEnd::kStopped) {
      if (recorder)
        recorder->stopped(training->position());
      return kExitOk;
    }
    const retrain::TestResults test = training->test();
    if (recorder) {
      recorder->finish(test);
      if (!cfg.export_path.empty())
        recorder->exported(training->export_onnx(cfg.export_path, kExportCheckImages));
      recorder->done();
    }
    return kExitOk;
  });
}

} // namespace hpcnas::app
