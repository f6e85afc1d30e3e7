#include "timbre/train/checkpoint.h"

#include <nlohmann/json.hpp>
#include <set>

namespace timbre::train {

namespace {
const std::string optimizer_prefix = "optimizer/";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

std::string features_to_json(const data::FeatureOptions& f) {
  const bool pad = f.patch.short_clip == data::PatchOptions::ShortClip::pad;
  nlohmann::json j{{"patches_per_clip", f.patch.patches_per_clip},
                   {"patch_hop", f.patch.hop()},
                   {"short_clips", pad ? "pad" : "skip"},
                   {"min_clip_seconds", f.min_clip_seconds}};
  // Only when set: runs and checkpoints from before the option keep their fingerprints.
  if (f.mel.fmax > 0) j["mel_fmax"] = f.mel.fmax;
  return j.dump();
}

data::FeatureOptions features_from_json(const std::string& text, const std::string& source) {
  data::FeatureOptions f;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    f.patch.patches_per_clip = j.at("patches_per_clip").get<int64_t>();
    f.patch.patch_hop = j.at("patch_hop").get<int64_t>();
    const std::string rule = j.at("short_clips").get<std::string>();
    check(rule == "pad" || rule == "skip", source, "short_clips is \"", rule, "\", expected pad or skip");
    f.patch.short_clip = rule == "pad" ? data::PatchOptions::ShortClip::pad : data::PatchOptions::ShortClip::fail;
    f.min_clip_seconds = j.at("min_clip_seconds").get<double>();
    f.mel.fmax = j.value("mel_fmax", 0.0);
  } catch (const nlohmann::json::exception& e) {
    fail(source + ": malformed feature options: " + e.what());
  }
  check(f.patch.patch_hop >= 1 && f.min_clip_seconds >= 0 && f.mel.fmax >= 0 && f.mel.fmax <= f.sample_rate / 2.0,
        source, "feature options out of range: ", text);
  return f;
}

std::string fingerprint_differences(const std::string& stored, const std::string& current) {
  const nlohmann::json a = nlohmann::json::parse(stored.empty() ? "{}" : stored, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(current, nullptr, false);
  check(a.is_object() && b.is_object(), "fingerprint_differences", "expected two JSON objects, got ", stored, " and ",
        current);
  auto shown = [](const nlohmann::json& j, const std::string& key) {
    std::string text = j.contains(key) ? j.at(key).dump() : "(none)";
    return text.size() > 100 ? text.substr(0, 97) + "..." : text;
  };
  std::set<std::string> keys;
  for (const auto& [key, value] : a.items()) keys.insert(key);
  for (const auto& [key, value] : b.items()) keys.insert(key);
  std::string out;
  for (const std::string& key : keys)
    if (!a.contains(key) || !b.contains(key) || a.at(key) != b.at(key))
      out += (out.empty() ? "" : "; ") + key + ": " + shown(a, key) + " in the checkpoint, " + shown(b, key) + " now";
  return out;
}

ResumeCheck check_resumable(const CheckpointInfo& info, const std::string& current, bool anyway,
                            const std::string& source) {
  if (info.fingerprint.empty()) return {"", info.resume_overrides};  // written before fingerprints: nothing to compare
  const std::string differences = fingerprint_differences(info.fingerprint, current);
  if (differences.empty()) return {"", info.resume_overrides};
  check(anyway, "fit", "cannot resume: ", source, " belongs to another run (", differences,
        "); give that run's settings, another --out, or --resume-anyway to continue it regardless");
  nlohmann::json overrides = nlohmann::json::parse(info.resume_overrides, nullptr, false);
  if (!overrides.is_array()) overrides = nlohmann::json::array();
  overrides.push_back({{"after_epoch", info.epoch}, {"differences", differences}});
  return {differences, overrides.dump()};
}

void save_checkpoint(const std::filesystem::path& path, nn::Module& model, optim::Optimizer* optimizer,
                     const CheckpointInfo& info) {
  io::TensorMap tensors;
  for (const nn::Variable& v : model.variables()) {
    check(!tensors.contains(v.name), "save_checkpoint", "two variables are named \"", v.name, "\"");
    tensors.emplace(v.name, v.value);
  }
  if (optimizer)
    for (const auto& [name, state] : optimizer->state()) tensors.emplace(optimizer_prefix + name, state);

  io::Metadata meta;
  meta["format"] = checkpoint_format;
  meta["format_version"] = std::to_string(checkpoint_version);
  meta["model"] = info.model;
  meta["class_names"] = nlohmann::json(info.class_names).dump();
  meta["epoch"] = std::to_string(info.epoch);
  meta["history"] = history_to_json(info.history);
  meta["best_val_accuracy"] = nlohmann::json(info.best_val_accuracy).dump();
  meta["optimizer"] = info.optimizer;
  meta["optimizer_iterations"] = std::to_string(optimizer ? optimizer->iterations() : info.optimizer_iterations);
  meta["shuffle_rng"] = info.shuffle_rng;
  meta["default_rng"] = info.default_rng;
  meta["config"] = info.config;
  meta["input_normalization"] = info.normalize;
  meta["features"] = features_to_json(info.features);
  meta["fingerprint"] = info.fingerprint;
  meta["resume_overrides"] = info.resume_overrides;
  io::save_safetensors(path, tensors, meta);
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string where = "checkpoint " + path.string();
  LoadedCheckpoint c{io::load_safetensors(path), {}};
  const io::Metadata& meta = c.file.metadata;
  auto field = [&](const std::string& key) -> const std::string& {
    auto it = meta.find(key);
    check(it != meta.end(), where, "metadata lacks \"", key, "\" (not a timbre checkpoint?)");
    return it->second;
  };
  check(field("format") == checkpoint_format, where, "format is \"", field("format"), "\", expected \"",
        checkpoint_format, "\"");
  check(field("format_version") == std::to_string(checkpoint_version), where, "format version ",
        field("format_version"), " is not supported (this build reads version ", checkpoint_version, ")");
  try {
    CheckpointInfo& info = c.info;
    info.model = field("model");
    info.class_names = nlohmann::json::parse(field("class_names")).get<std::vector<std::string>>();
    info.epoch = std::stoll(field("epoch"));
    info.history = history_from_json(field("history"));
    info.best_val_accuracy = nlohmann::json::parse(field("best_val_accuracy")).get<double>();
    info.optimizer = field("optimizer");
    info.optimizer_iterations = std::stoll(field("optimizer_iterations"));
    info.shuffle_rng = field("shuffle_rng");
    info.default_rng = field("default_rng");
    info.config = field("config");
    info.normalize = field("input_normalization");
    // Checkpoints written before the feature flags cut the seed's patches.
    info.features =
        meta.contains("features") ? features_from_json(meta.at("features"), where) : data::FeatureOptions::seed();
    if (meta.contains("fingerprint")) info.fingerprint = meta.at("fingerprint");
    if (meta.contains("resume_overrides")) info.resume_overrides = meta.at("resume_overrides");
  } catch (const nlohmann::json::exception& e) {
    fail(where + ": malformed metadata: " + e.what());
  } catch (const std::logic_error& e) {  // std::stoll
    fail(where + ": malformed number in metadata: " + e.what());
  }
  return c;
}

void restore_model(nn::Module& model, const LoadedCheckpoint& checkpoint, const std::string& source) {
  const std::string where = "checkpoint " + source;
  std::set<std::string> used;
  for (const nn::Variable& v : model.variables()) {
    auto it = checkpoint.file.tensors.find(v.name);
    check(it != checkpoint.file.tensors.end(), where, "has no variable \"", v.name, "\" (a different model?)");
    check(it->second.shape() == v.value.shape(), where, "variable \"", v.name, "\" has shape ", it->second.shape(),
          ", the model expects ", v.value.shape());
    v.value.copy_from(it->second.to(v.value.dtype()));
    used.insert(v.name);
  }
  for (const auto& [name, t] : checkpoint.file.tensors)
    check(used.contains(name) || starts_with(name, optimizer_prefix), where, "holds variable \"", name,
          "\" that the model lacks (a different model?)");
}

void restore_optimizer(optim::Optimizer& optimizer, const LoadedCheckpoint& checkpoint, const std::string& source) {
  const std::string where = "checkpoint " + source;
  for (auto& [name, state] : optimizer.state()) {
    auto it = checkpoint.file.tensors.find(optimizer_prefix + name);
    check(it != checkpoint.file.tensors.end(), where, "has no optimizer state \"", name, "\" (saved by ",
          checkpoint.info.optimizer, ")");
    check(it->second.shape() == state.shape(), where, "optimizer state \"", name, "\" has shape ", it->second.shape(),
          ", expected ", state.shape());
    state.copy_from(it->second.to(state.dtype()));
  }
  optimizer.set_iterations(checkpoint.info.optimizer_iterations);
}

}  // namespace timbre::train
