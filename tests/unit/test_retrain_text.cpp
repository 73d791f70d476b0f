// The final training of text classifiers: a recurrent cell and the LSTM and GRU baselines learn
// a two-topic folder and are tested on its test split; a saved state resumes exactly; a model
// that does not fit the dataset is refused.
#include <catch2/catch.hpp>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/retrain/final_training.hpp"
#include "temp_dir.hpp"

using namespace hpcnas;

namespace {

config::FinalTrainConfig text_config(const TextFolder& folder) {
  config::FinalTrainConfig cfg;
  cfg.data.dataset = "text-folder";
  cfg.data.data_dir = folder.str();
  cfg.data.val_fraction = 0.25;
  cfg.data.test_fraction = 0.25;
  cfg.network.embedding = 8;
  cfg.network.hidden = 12;
  cfg.batch_size = 8;
  cfg.epochs = 12;
  cfg.learning_rate = 0.5;
  cfg.weight_decay = 0;
  cfg.threads = 1;
  return cfg;
}

} // namespace

TEST_CASE("a recurrent cell, an LSTM and a GRU train on texts and are tested", "[retrain][text]") {
  TextFolder folder;
  folder.write_two_topics();
  const auto cfg = text_config(folder);
  comm::SoloCollective solo;
  for (const auto& model :
       {retrain::TrainedModel(space::darts_v2_recurrent()), retrain::TrainedModel::baseline("lstm"),
        retrain::TrainedModel::baseline("gru")}) {
    DYNAMIC_SECTION(model.to_string()) {
      retrain::FinalTraining training(cfg, model, solo);
      std::vector<retrain::TrainEpochRow> rows;
      retrain::Hooks hooks;
      hooks.on_epoch = [&rows](const retrain::TrainEpochRow& r) { rows.push_back(r); };
      REQUIRE(training.run(hooks) == retrain::RunEnd::kCompleted);
      REQUIRE(rows.size() == 12);
      CHECK(rows.back().train_loss < rows.front().train_loss);
      CHECK(rows.back().drop_path == 0);         // no drop-path in a text classifier
      CHECK(rows.back().holdout_accuracy > 0.8); // the validation split is the holdout
      const retrain::TestResults test = training.test();
      CHECK(test.classes == 2);
      CHECK(test.accuracy > 0.8);
      CHECK(test.accuracy == rows.back().test_accuracy);
      std::int64_t tested = 0;
      for (auto n : test.confusion)
        tested += n;
      CHECK(tested == 20); // a quarter of 80 texts
      CHECK_THROWS_WITH(training.export_onnx("model.onnx", 2), Catch::Contains("not supported"));
    }
  }
}

TEST_CASE("a saved text training resumes the identical trajectory", "[retrain][text]") {
  TextFolder folder;
  folder.write_two_topics();
  auto cfg = text_config(folder);
  cfg.epochs = 2;
  comm::SoloCollective solo;
  const retrain::TrainedModel cell = space::darts_v2_recurrent();
  retrain::FinalTraining straight(cfg, cell, solo);
  straight.run_steps(4);
  retrain::FinalTraining first(cfg, cell, solo);
  first.run_steps(2);
  const auto state = first.save_state();
  retrain::FinalTraining second(cfg, cell, solo);
  second.resume(state);
  second.run_steps(2);
  CHECK(second.flat_weights() == straight.flat_weights());
  retrain::FinalTraining lstm(cfg, retrain::TrainedModel::baseline("lstm"), solo);
  CHECK_THROWS_WITH(lstm.resume(state), Catch::Contains("parameters"));
}

TEST_CASE("a model that does not fit the dataset is refused", "[retrain][text]") {
  TextFolder folder;
  folder.write_two_topics();
  comm::SoloCollective solo;
  CHECK_THROWS_WITH(retrain::FinalTraining(text_config(folder), space::darts_v2(), solo),
                    Catch::Contains("an image genotype trains on an image dataset"));
  config::FinalTrainConfig images;
  images.data.dataset = "synthetic";
  CHECK_THROWS_WITH(retrain::FinalTraining(images, space::darts_v2_recurrent(), solo),
                    Catch::Contains("text dataset"));
  CHECK_THROWS_AS(retrain::TrainedModel::baseline("rnn"), std::invalid_argument);
  CHECK(retrain::TrainedModel::parse("gru").is_baseline());
  CHECK(retrain::TrainedModel::parse(space::darts_v2_recurrent().to_string()).is_text());
  CHECK_FALSE(retrain::TrainedModel::parse(space::darts_v2().to_string()).is_text());
}
