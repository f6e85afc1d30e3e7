#include "timbre/train/metrics.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "timbre/autograd/grad_mode.h"
#include "timbre/data/batcher.h"
#include "timbre/io/atomic_file.h"
#include "timbre/ops/activation.h"
#include "timbre/ops/loss.h"

namespace timbre::train {

namespace {
int64_t argmax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }
}  // namespace

Tensor predict_probabilities(nn::Module& model, const Tensor& patches, int64_t batch_size, Device device) {
  check(batch_size > 0, "predict_probabilities", "batch size must be positive, got ", batch_size);
  check(patches.defined() && patches.rank() >= 2, "predict_probabilities", "expected patches (N, ...), got ",
        patches.defined() ? patches.shape().str() : "nothing");
  model.set_training(false);
  autograd::NoGrad no_grad;
  const Tensor host = patches.device().is_cpu() ? patches : patches.to(Device::cpu());
  const int64_t n = host.dim(0), per = host.shape().drop_front().numel();
  std::vector<float> out;
  int64_t classes = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t rows = std::min(batch_size, n - begin);
    const Tensor x = host.view_at(begin * per, host.shape().drop_front().prepend(rows)).to(device);
    const std::vector<float> p = ops::softmax(model(x)).to_vector<float>();
    classes = static_cast<int64_t>(p.size()) / rows;
    out.insert(out.end(), p.begin(), p.end());
  }
  return Tensor::from<float>({n, classes}, out);
}

Evaluation evaluate(nn::Module& model, const data::PatchDataset& dataset, int64_t batch_size, Device device) {
  dataset.validate("evaluate");
  model.set_training(false);
  autograd::NoGrad no_grad;
  std::vector<int64_t> order(static_cast<size_t>(dataset.size()));
  for (int64_t i = 0; i < dataset.size(); ++i) order[static_cast<size_t>(i)] = i;
  data::BatchLoader loader(dataset, std::move(order), batch_size);
  std::vector<float> probabilities;
  probabilities.reserve(static_cast<size_t>(dataset.size() * dataset.num_classes()));
  double loss_sum = 0;
  while (auto batch = loader.next()) {
    const Tensor logits = model(batch->inputs.to(device));
    const double rows = static_cast<double>(batch->labels.size());
    loss_sum += ops::softmax_cross_entropy(logits, batch->targets.to(device)).item<double>() * rows;
    const std::vector<float> p = ops::softmax(logits).to_vector<float>();
    probabilities.insert(probabilities.end(), p.begin(), p.end());
  }
  return score_probabilities(probabilities, dataset, dataset.size() ? loss_sum / static_cast<double>(dataset.size()) : 0);
}

Evaluation score_probabilities(const std::vector<float>& probabilities, const data::PatchDataset& dataset, double loss) {
  const int64_t n = dataset.size(), classes = dataset.num_classes();
  check(static_cast<int64_t>(probabilities.size()) == n * classes, "score_probabilities", "expected ", n, " x ",
        classes, " probabilities, got ", probabilities.size());
  Evaluation e;
  e.loss = loss;
  e.patches = n;
  e.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes), 0));
  int64_t correct = 0;
  // Per song: summed probabilities and the song's label.
  std::map<int32_t, std::pair<std::vector<double>, int32_t>> songs;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = probabilities.data() + i * classes;
    const int32_t label = dataset.labels[static_cast<size_t>(i)];
    const int64_t predicted = argmax(row, classes);
    ++e.confusion[static_cast<size_t>(label)][static_cast<size_t>(predicted)];
    correct += predicted == label;
    const int32_t song = dataset.songs.empty() ? -1 : dataset.songs[static_cast<size_t>(i)];
    if (song < 0) continue;
    auto [it, fresh] = songs.try_emplace(song, std::vector<double>(static_cast<size_t>(classes), 0.0), label);
    for (int64_t c = 0; c < classes; ++c) it->second.first[static_cast<size_t>(c)] += row[c];
  }
  e.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
  int64_t songs_correct = 0;
  for (const auto& [song, sums_label] : songs) {
    const auto& [sums, label] = sums_label;
    songs_correct += std::max_element(sums.begin(), sums.end()) - sums.begin() == label;
  }
  e.songs = static_cast<int64_t>(songs.size());
  e.song_accuracy = e.songs ? static_cast<double>(songs_correct) / static_cast<double>(e.songs) : 0.0;

  for (int64_t c = 0; c < classes; ++c) {
    ClassScore s;
    s.name = dataset.class_names[static_cast<size_t>(c)];
    for (int64_t k = 0; k < classes; ++k) {
      s.support += e.confusion[static_cast<size_t>(c)][static_cast<size_t>(k)];
      s.predicted += e.confusion[static_cast<size_t>(k)][static_cast<size_t>(c)];
    }
    const double hits = static_cast<double>(e.confusion[static_cast<size_t>(c)][static_cast<size_t>(c)]);
    s.precision = s.predicted ? hits / static_cast<double>(s.predicted) : 0.0;
    s.recall = s.support ? hits / static_cast<double>(s.support) : 0.0;
    e.classes.push_back(s);
  }
  return e;
}

std::string format_class_report(const Evaluation& e) {
  std::ostringstream out;
  size_t width = 5;
  for (const ClassScore& s : e.classes) width = std::max(width, s.name.size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << "genre" << std::right << std::setw(10) << "precision"
      << std::setw(10) << "recall" << std::setw(10) << "support" << "\n"
      << std::fixed << std::setprecision(3);
  for (const ClassScore& s : e.classes)
    out << std::left << std::setw(static_cast<int>(width) + 2) << s.name << std::right << std::setw(10) << s.precision
        << std::setw(10) << s.recall << std::setw(10) << s.support << "\n";
  out << "patch accuracy " << e.accuracy << " (" << e.patches << " patches)";
  if (e.songs) out << ", song accuracy " << e.song_accuracy << " (" << e.songs << " songs)";
  out << "\n";
  return out.str();
}

void write_evaluation(const std::filesystem::path& dir, const Evaluation& e, const std::string& split_note) {
  nlohmann::json j;
  j["split"] = split_note;
  j["loss"] = e.loss;
  j["accuracy"] = e.accuracy;
  j["patches"] = e.patches;
  j["songs"] = e.songs;
  j["song_accuracy"] = e.songs ? nlohmann::json(e.song_accuracy) : nlohmann::json(nullptr);
  j["confusion_matrix"] = e.confusion;  // rows: true class, columns: predicted class
  std::ostringstream csv;
  csv << "class,support,predicted,precision,recall\n" << std::setprecision(6);
  for (const ClassScore& s : e.classes) {
    j["classes"].push_back(
        {{"name", s.name}, {"support", s.support}, {"predicted", s.predicted}, {"precision", s.precision}, {"recall", s.recall}});
    csv << s.name << "," << s.support << "," << s.predicted << "," << s.precision << "," << s.recall << "\n";
  }
  io::write_file_atomically(dir / "evaluation.json", j.dump(2) + "\n");
  io::write_file_atomically(dir / "per_class.csv", csv.str());
}

}  // namespace timbre::train
