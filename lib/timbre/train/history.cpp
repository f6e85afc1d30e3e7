#include "timbre/train/history.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "timbre/core/error.h"
#include "timbre/io/atomic_file.h"

namespace timbre::train {

std::string history_to_csv(const History& h) {
  std::ostringstream out;
  out << "epoch,loss,accuracy,val_loss,val_accuracy,val_song_accuracy,learning_rate,seconds,samples_per_second\n";
  out.precision(9);
  for (const EpochRecord& r : h)
    out << r.epoch << "," << r.loss << "," << r.accuracy << "," << r.val_loss << "," << r.val_accuracy << ","
        << r.val_song_accuracy << "," << r.learning_rate << "," << r.seconds << "," << r.samples_per_second << "\n";
  return out.str();
}

std::string history_to_json(const History& h) {
  nlohmann::json j = nlohmann::json::object();
  for (const char* key : {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "val_song_accuracy", "learning_rate",
                          "seconds", "samples_per_second"})
    j[key] = nlohmann::json::array();
  for (const EpochRecord& r : h) {
    j["epoch"].push_back(r.epoch);
    j["loss"].push_back(r.loss);
    j["accuracy"].push_back(r.accuracy);
    j["val_loss"].push_back(r.val_loss);
    j["val_accuracy"].push_back(r.val_accuracy);
    j["val_song_accuracy"].push_back(r.val_song_accuracy);
    j["learning_rate"].push_back(r.learning_rate);
    j["seconds"].push_back(r.seconds);
    j["samples_per_second"].push_back(r.samples_per_second);
  }
  return j.dump(2) + "\n";
}

History history_from_json(const std::string& text) {
  History h;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    const size_t n = j.at("epoch").size();
    for (size_t i = 0; i < n; ++i) {
      EpochRecord r;
      r.epoch = j.at("epoch").at(i).get<int64_t>();
      r.loss = j.at("loss").at(i).get<double>();
      r.accuracy = j.at("accuracy").at(i).get<double>();
      r.val_loss = j.at("val_loss").at(i).get<double>();
      r.val_accuracy = j.at("val_accuracy").at(i).get<double>();
      r.val_song_accuracy = j.at("val_song_accuracy").at(i).get<double>();
      // Histories written before the learning rate was recorded have none.
      if (j.contains("learning_rate")) r.learning_rate = j.at("learning_rate").at(i).get<double>();
      r.seconds = j.at("seconds").at(i).get<double>();
      r.samples_per_second = j.at("samples_per_second").at(i).get<double>();
      h.push_back(r);
    }
  } catch (const nlohmann::json::exception& e) {
    fail(std::string("history_from_json: not a training history: ") + e.what());
  }
  return h;
}

void write_history(const std::filesystem::path& dir, const History& h, const std::string& resume_overrides) {
  io::write_file_atomically(dir / "history.csv", history_to_csv(h));
  nlohmann::json j = nlohmann::json::parse(history_to_json(h));
  const nlohmann::json overrides = nlohmann::json::parse(resume_overrides, nullptr, false);
  if (overrides.is_array() && !overrides.empty()) j["resume_overrides"] = overrides;
  io::write_file_atomically(dir / "history.json", j.dump(2) + "\n");
}

}  // namespace timbre::train
