// tf.data.Dataset.save directories, read and written without TensorFlow:
//   dataset_spec.pb      the element spec (a serialized StructuredValue)
//   snapshot.metadata    a SnapshotMetadataRecord (run id, version 2, dtypes, count)
//   <run_id>/<%08d>.shard/<%08d>.snapshot   TFRecord files, one record (a
//                        TensorProto) per component of each element
// Elements are (patch, label): patch (H, W, 1) or (H, W) float32/float64, label
// one-hot float (K,) or an integer scalar; batched specs ((B, H, W, 1) with
// (B, K) or (B,)) are unbatched on load. A dict element is read by key order,
// the component of higher rank being the patch.
#pragma once

#include <string>
#include <vector>

#include "timbre/data/dataset.h"

namespace timbre::data {

struct TfDataOptions {
  // How the snapshot files are compressed: "auto" (detect per file), "none", "gzip" or "snappy".
  std::string compression = "auto";
  // Names for the label indices. Empty: "class_0", "class_1", ... (one per one-hot entry, or
  // max label + 1 for integer labels).
  std::vector<std::string> class_names;
};

struct TfDataSaveOptions {
  std::string compression = "none";  // "none", "gzip" or "snappy", as tf.data.Dataset.load(compression=) is told
  int num_shards = 1;                // element i goes to shard i % num_shards
  bool one_hot_labels = true;        // float32 (K,) one-hot; false: int64 scalar class indices
  bool overwrite = false;            // replace an existing directory (after the new one is complete)
};

// Reads a directory written by tf.data.Dataset.save (or save_tfdata). Elements
// come in the order tf.data.Dataset.load yields them with one reader per shard
// (round-robin over the shards), which is the original order for round-robin
// sharded saves. Song ids are -1.
PatchDataset load_tfdata(const std::string& dir, const TfDataOptions& options = {});

// Writes `dataset` so that tf.data.Dataset.load(dir, compression=...) reads it.
// The directory is built under a temporary name and renamed into place.
void save_tfdata(const PatchDataset& dataset, const std::string& dir, const TfDataSaveOptions& options = {});

}  // namespace timbre::data
