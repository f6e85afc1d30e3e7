#include "timbre/data/tfdata.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "timbre/core/error.h"
#include "timbre/data/protowire.h"
#include "timbre/data/tfrecord.h"

namespace timbre::data {

namespace fs = std::filesystem;

namespace {

// tensorflow/core/framework/types.proto
enum DataType : int { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_INT64 = 9 };

std::string data_type_name(int dtype) {
  switch (dtype) {
    case DT_FLOAT: return "float32";
    case DT_DOUBLE: return "float64";
    case DT_INT32: return "int32";
    case DT_UINT8: return "uint8";
    case DT_INT64: return "int64";
    case 7: return "string";
    case 10: return "bool";
    default: return "DataType " + std::to_string(dtype);
  }
}
size_t data_type_size(int dtype) {
  switch (dtype) {
    case DT_FLOAT:
    case DT_INT32: return 4;
    case DT_DOUBLE:
    case DT_INT64: return 8;
    case DT_UINT8: return 1;
    default: return 0;
  }
}

constexpr const char* kSpecFile = "dataset_spec.pb";
constexpr const char* kMetadataFile = "snapshot.metadata";
constexpr int kMaxSpecDepth = 16;
constexpr int64_t kMaxElementValues = int64_t{1} << 28;

struct TensorSpec {
  std::vector<int64_t> shape;  // -1: unknown extent
  bool unknown_rank = false;
  int dtype = 0;
};

// ---- dataset_spec.pb: StructuredValue (tensorflow/core/protobuf/struct.proto)

std::vector<int64_t> parse_shape(std::string_view bytes, const std::string& where, bool* unknown_rank) {
  std::vector<int64_t> dims;
  proto::Reader r(bytes, where + " (TensorShapeProto)");
  proto::Field f;
  while (r.next(f)) {
    if (f.number == 2) {  // dim { size = 1; name = 2 }
      proto::expect_type(f, proto::WireType::bytes, r.where(), "dim");
      int64_t size = 0;
      proto::Reader d(f.bytes, r.where());
      proto::Field g;
      while (d.next(g))
        if (g.number == 1) size = static_cast<int64_t>(g.value);
      check(size >= -1, where, "dimension ", size, " is negative");
      dims.push_back(size);
    } else if (f.number == 3 && unknown_rank) {
      *unknown_rank = f.value != 0;
    }
  }
  return dims;
}

TensorSpec parse_tensor_spec(std::string_view bytes, const std::string& where) {
  TensorSpec spec;
  proto::Reader r(bytes, where + " (TensorSpecProto)");
  proto::Field f;
  while (r.next(f)) {
    if (f.number == 2) {
      proto::expect_type(f, proto::WireType::bytes, r.where(), "shape");
      spec.shape = parse_shape(f.bytes, where, &spec.unknown_rank);
    } else if (f.number == 3) {
      spec.dtype = static_cast<int>(f.value);
    }
  }
  return spec;
}

void flatten_structure(std::string_view bytes, const std::string& where, int depth, std::vector<TensorSpec>& out);

// TupleValue / ListValue { repeated StructuredValue values = 1; }
void flatten_sequence(std::string_view bytes, const std::string& where, int depth, std::vector<TensorSpec>& out) {
  proto::Reader r(bytes, where);
  proto::Field f;
  while (r.next(f))
    if (f.number == 1) {
      proto::expect_type(f, proto::WireType::bytes, where, "values");
      flatten_structure(f.bytes, where, depth + 1, out);
    }
}

// DictValue { map<string, StructuredValue> fields = 1; }; tf.nest flattens dicts in key order.
void flatten_dict(std::string_view bytes, const std::string& where, int depth, std::vector<TensorSpec>& out) {
  std::map<std::string, std::string_view> fields;
  proto::Reader r(bytes, where);
  proto::Field f;
  while (r.next(f)) {
    if (f.number != 1) continue;
    proto::expect_type(f, proto::WireType::bytes, where, "fields");
    std::string key;
    std::string_view value;
    proto::Reader entry(f.bytes, where);
    proto::Field g;
    while (entry.next(g)) {
      if (g.number == 1) key = std::string(g.bytes);
      if (g.number == 2) value = g.bytes;
    }
    fields[key] = value;
  }
  for (const auto& [key, value] : fields) flatten_structure(value, where, depth + 1, out);
}

void flatten_structure(std::string_view bytes, const std::string& where, int depth, std::vector<TensorSpec>& out) {
  check(depth <= kMaxSpecDepth, where, "element spec nested deeper than ", kMaxSpecDepth);
  proto::Reader r(bytes, where);
  proto::Field f;
  bool seen = false;
  while (r.next(f)) {
    seen = true;
    switch (f.number) {
      case 51:  // list_value
      case 52:  // tuple_value
        proto::expect_type(f, proto::WireType::bytes, where, "list/tuple");
        flatten_sequence(f.bytes, where, depth, out);
        break;
      case 53:  // dict_value
        proto::expect_type(f, proto::WireType::bytes, where, "dict");
        flatten_dict(f.bytes, where, depth, out);
        break;
      case 33:  // tensor_spec_value
      case 35:  // bounded_tensor_spec_value: same leading fields (name, shape, dtype)
        proto::expect_type(f, proto::WireType::bytes, where, "tensor spec");
        out.push_back(parse_tensor_spec(f.bytes, where));
        break;
      case 34: {  // type_spec_value: sparse, ragged, ... tensors
        proto::Reader t(f.bytes, where);
        proto::Field g;
        uint64_t type_class = 0;
        std::string class_name;
        while (t.next(g)) {
          if (g.number == 1) type_class = g.value;
          if (g.number == 3) class_name = std::string(g.bytes);
        }
        fail(where + ": element spec holds a composite TypeSpec (type_spec_class " + std::to_string(type_class) +
             (class_name.empty() ? "" : ", " + class_name) + "); only dense TensorSpecs are supported");
      }
      default:
        fail(where + ": element spec holds StructuredValue field " + std::to_string(f.number) +
             ", expected tensor specs in a tuple, list or dict");
    }
  }
  check(seen, where, "empty StructuredValue in the element spec");
}

// ---- snapshot.metadata: SnapshotMetadataRecord (tensorflow/core/protobuf/snapshot.proto)
struct SnapshotMetadata {
  std::string run_id;
  int64_t version = 0;
  std::vector<uint64_t> dtypes;
  int64_t num_elements = -1;
  bool finalized = false;
};

SnapshotMetadata parse_metadata(std::string_view bytes, const std::string& where) {
  SnapshotMetadata m;
  proto::Reader r(bytes, where);
  proto::Field f;
  while (r.next(f)) {
    switch (f.number) {
      case 2:
        proto::expect_type(f, proto::WireType::bytes, where, "run_id");
        m.run_id = std::string(f.bytes);
        break;
      case 4: m.version = static_cast<int64_t>(f.value); break;
      case 5: proto::append_varints(f, m.dtypes, where); break;
      case 6: m.num_elements = static_cast<int64_t>(f.value); break;
      case 1000: m.finalized = f.value != 0; break;
      default: break;
    }
  }
  return m;
}

// ---- TensorProto (tensorflow/core/framework/tensor.proto): the raw bytes of
// tensor_content, or the typed repeated fields other writers use.
struct TensorValue {
  int dtype = 0;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  std::string_view content;       // tensor_content, little-endian
  std::vector<uint32_t> fixed32;  // float_val
  std::vector<uint64_t> fixed64;  // double_val
  std::vector<uint64_t> varints;  // int_val, int64_val

  // Value i converted to T.
  template <class T>
  T at(int64_t i) const {
    if (!content.empty()) {
      const char* p = content.data() + i * static_cast<int64_t>(data_type_size(dtype));
      switch (dtype) {
        case DT_FLOAT: return static_cast<T>(load<float>(p));
        case DT_DOUBLE: return static_cast<T>(load<double>(p));
        case DT_INT32: return static_cast<T>(load<int32_t>(p));
        case DT_INT64: return static_cast<T>(load<int64_t>(p));
        default: return static_cast<T>(static_cast<uint8_t>(*p));
      }
    }
    switch (dtype) {
      case DT_FLOAT: return static_cast<T>(std::bit_cast<float>(fixed32[i]));
      case DT_DOUBLE: return static_cast<T>(std::bit_cast<double>(fixed64[i]));
      case DT_INT32: return static_cast<T>(static_cast<int32_t>(varints[i]));
      default: return static_cast<T>(static_cast<int64_t>(varints[i]));
    }
  }

 private:
  template <class V>
  static V load(const char* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
};

TensorValue parse_tensor(std::string_view bytes, const std::string& where) {
  TensorValue t;
  proto::Reader r(bytes, where);
  proto::Field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1: t.dtype = static_cast<int>(f.value); break;
      case 2:
        proto::expect_type(f, proto::WireType::bytes, where, "tensor_shape");
        t.shape = parse_shape(f.bytes, where, nullptr);
        break;
      case 4:
        proto::expect_type(f, proto::WireType::bytes, where, "tensor_content");
        t.content = f.bytes;
        break;
      case 5: proto::append_fixed32(f, t.fixed32, where); break;
      case 6: proto::append_fixed64(f, t.fixed64, where); break;
      case 7:
      case 10: proto::append_varints(f, t.varints, where); break;
      case 8: fail(where + ": string tensors are not supported");
      default: break;
    }
  }
  check(data_type_size(t.dtype) > 0, where, "tensor of ", data_type_name(t.dtype),
        " (supported: float32, float64, int32, int64, uint8)");
  for (int64_t d : t.shape) {
    check(d >= 0, where, "tensor shape ", Shape(t.shape), " has an unknown extent");
    check(d == 0 || t.numel <= kMaxElementValues / d, where, "tensor shape ", Shape(t.shape), " is too large");
    t.numel *= d;
  }
  const size_t typed = t.fixed32.size() + t.fixed64.size() + t.varints.size();
  if (!t.content.empty() || typed == 0) {
    check(t.content.size() == static_cast<uint64_t>(t.numel) * data_type_size(t.dtype), where, "tensor of shape ",
          Shape(t.shape), " ", data_type_name(t.dtype), " has ", t.content.size(), " content bytes, expected ",
          t.numel * static_cast<int64_t>(data_type_size(t.dtype)));
  } else {
    const size_t have = t.dtype == DT_FLOAT    ? t.fixed32.size()
                        : t.dtype == DT_DOUBLE ? t.fixed64.size()
                                               : t.varints.size();
    check(static_cast<int64_t>(have) == t.numel && typed == have, where, "tensor of shape ", Shape(t.shape), " ",
          data_type_name(t.dtype), " has ", typed, " typed values, expected ", t.numel, " of its type");
  }
  return t;
}

// ---- the layout: which component is what.
struct Layout {
  size_t patch_index = 0;
  size_t label_index = 1;
  bool batched = false;
  bool one_hot = false;
  std::vector<int64_t> sample;  // patch extents without batch: (H, W) or (H, W, 1); -1 unknown
  int64_t classes = -1;         // one-hot width; -1 unknown
};

bool is_float(int dtype) { return dtype == DT_FLOAT || dtype == DT_DOUBLE; }
bool is_integer(int dtype) { return dtype == DT_INT32 || dtype == DT_INT64 || dtype == DT_UINT8; }

Layout make_layout(const std::vector<TensorSpec>& spec, bool is_dict, const std::string& where) {
  check(spec.size() == 2, where, "element has ", spec.size(),
        " components; expected 2 (patch, label)");
  for (const TensorSpec& s : spec) check(!s.unknown_rank, where, "a component has unknown rank");
  Layout l;
  if (is_dict && spec[0].shape.size() < spec[1].shape.size()) std::swap(l.patch_index, l.label_index);
  const TensorSpec& patch = spec[l.patch_index];
  const TensorSpec& label = spec[l.label_index];
  check(is_float(patch.dtype), where, "patch component is ", data_type_name(patch.dtype),
        ", expected float32 or float64");
  const size_t rank = patch.shape.size();
  check(rank >= 2 && rank <= 4, where, "patch shape ", Shape(patch.shape),
        " is not (H, W), (H, W, 1) or batched (B, H, W, 1)");
  l.batched = rank == 4;
  l.sample.assign(patch.shape.begin() + (l.batched ? 1 : 0), patch.shape.end());
  if (l.sample.size() == 3) check(l.sample[2] == 1 || l.sample[2] == -1, where, "patch shape ", Shape(patch.shape),
                                  " has ", l.sample[2], " channels, expected 1");
  const size_t label_rank = label.shape.size() - (l.batched ? 1 : 0);
  check(label.shape.size() >= (l.batched ? 1u : 0u) && label_rank <= 1, where, "label shape ", Shape(label.shape),
        " is neither a one-hot vector nor a scalar", l.batched ? " per batch row" : "");
  if (label_rank == 1) {
    check(is_float(label.dtype), where, "one-hot label component is ", data_type_name(label.dtype),
          ", expected float32 or float64");
    l.one_hot = true;
    l.classes = label.shape.back();
  } else {
    check(is_integer(label.dtype), where, "scalar label component is ", data_type_name(label.dtype),
          ", expected an integer type (int32, int64, uint8)");
  }
  return l;
}

// The records of one snapshot file, decompressed; `stream` owns the bytes the views point into.
struct SnapshotFile {
  std::string path;
  std::string stream;
  std::vector<std::string_view> records;
};

// The entries of `dir` named by eight digits and `suffix` ("00000003.shard"), in order.
std::vector<fs::path> numbered_entries(const fs::path& dir, const std::string& suffix) {
  std::error_code ec;
  std::vector<fs::path> out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == 8 + suffix.size() && name.ends_with(suffix) &&
        std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; }))
      out.push_back(it->path());
  }
  check(!ec, dir.string(), "cannot list directory: ", ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

PatchDataset load_tfdata(const std::string& dir, const TfDataOptions& options) {
  const std::string where = "load_tfdata " + dir;
  check(fs::is_directory(dir), where, "no such directory");
  const fs::path spec_path = fs::path(dir) / kSpecFile, meta_path = fs::path(dir) / kMetadataFile;
  check(fs::exists(spec_path) && fs::exists(meta_path), where,
        "not a tf.data.Dataset.save directory (needs ", kSpecFile, " and ", kMetadataFile, ")");
  const bool auto_compression = options.compression == "auto";
  const Compression compression =
      auto_compression ? Compression::none : parse_compression(options.compression, where);

  // The element spec.
  const std::string spec_bytes = read_whole_file(spec_path.string());
  std::vector<TensorSpec> spec;
  flatten_structure(spec_bytes, spec_path.string(), 0, spec);
  bool is_dict = false;
  {
    proto::Reader r(spec_bytes, spec_path.string());
    proto::Field f;
    while (r.next(f)) is_dict = is_dict || f.number == 53;
  }
  const Layout layout = make_layout(spec, is_dict, spec_path.string());

  // The metadata.
  const SnapshotMetadata meta = parse_metadata(read_whole_file(meta_path.string()), meta_path.string());
  check(meta.version == 2, meta_path.string(), "snapshot version ", meta.version,
        " (only version 2, as written by tf.data.Dataset.save, is supported)");
  check(meta.finalized, meta_path.string(), "the save was not finalized (interrupted while writing?)");
  check(!meta.run_id.empty() && meta.run_id.find_first_not_of("0123456789") == std::string::npos,
        meta_path.string(), "run_id '", meta.run_id, "' is not a decimal number");
  check(meta.dtypes.size() == spec.size(), meta_path.string(), meta.dtypes.size(), " dtypes but the element spec has ",
        spec.size(), " components");
  for (size_t i = 0; i < spec.size(); ++i)
    check(static_cast<int>(meta.dtypes[i]) == spec[i].dtype, meta_path.string(), "component ", i, " dtype ",
          data_type_name(static_cast<int>(meta.dtypes[i])), " differs from the element spec's ",
          data_type_name(spec[i].dtype));

  // The shards, each a sequence of snapshot files.
  const fs::path run_dir = fs::path(dir) / meta.run_id;
  std::vector<std::vector<SnapshotFile>> shards;
  if (fs::is_directory(run_dir)) {
    for (const fs::path& shard_dir : numbered_entries(run_dir, ".shard")) {
      shards.emplace_back();
      for (const fs::path& file : numbered_entries(shard_dir, ".snapshot")) {
        SnapshotFile s;
        s.path = file.string();
        const std::string raw = read_whole_file(s.path);
        const Compression c = auto_compression ? detect_compression(raw, s.path) : compression;
        s.stream = decompress(raw, c, s.path);
        s.records = split_records(s.stream, s.path);
        check(s.records.size() % spec.size() == 0, s.path, s.records.size(), " records is not a multiple of the ",
              spec.size(), " components of an element");
        shards.back().push_back(std::move(s));
      }
    }
  }
  int64_t total_elements = 0;
  for (const auto& shard : shards)
    for (const auto& file : shard) total_elements += static_cast<int64_t>(file.records.size() / spec.size());
  check(meta.num_elements < 0 || meta.num_elements == total_elements, where, "metadata says ",
        meta.num_elements, " elements, the snapshot files hold ", total_elements);

  // Round-robin over the shards, as tf.data.Dataset.load's interleave yields them.
  struct Cursor {
    size_t file = 0, record = 0;
  };
  std::vector<Cursor> cursors(shards.size());
  std::vector<std::pair<const SnapshotFile*, size_t>> order;  // (file, first record) of each element
  order.reserve(static_cast<size_t>(total_elements));
  for (bool any = true; any;) {
    any = false;
    for (size_t s = 0; s < shards.size(); ++s) {
      Cursor& c = cursors[s];
      while (c.file < shards[s].size() && c.record >= shards[s][c.file].records.size()) c = {c.file + 1, 0};
      if (c.file == shards[s].size()) continue;
      order.emplace_back(&shards[s][c.file], c.record);
      c.record += spec.size();
      any = true;
    }
  }

  // Decode: the first patch fixes unknown extents; every patch must then match.
  std::vector<int64_t> sample = layout.sample;
  const auto sample_known = [&] { return std::none_of(sample.begin(), sample.end(), [](int64_t d) { return d < 0; }); };
  std::vector<TensorValue> patches, labels;
  patches.reserve(order.size());
  labels.reserve(order.size());
  int64_t rows = 0;
  for (const auto& [file, first] : order) {
    const std::string at = file->path + ": record " + std::to_string(first);
    TensorValue p = parse_tensor(file->records[first + layout.patch_index], at);
    TensorValue y = parse_tensor(file->records[first + layout.label_index], at);
    check(p.dtype == spec[layout.patch_index].dtype && y.dtype == spec[layout.label_index].dtype, at,
          "tensor dtypes ", data_type_name(p.dtype), ", ", data_type_name(y.dtype), " differ from the element spec");
    const size_t skip = layout.batched ? 1 : 0;
    check(p.shape.size() == sample.size() + skip, at, "patch shape ", Shape(p.shape), " does not fit the spec");
    const int64_t batch = layout.batched ? p.shape[0] : 1;
    for (size_t i = 0; i < sample.size(); ++i) {
      if (sample[i] < 0) sample[i] = p.shape[i + skip];
      check(p.shape[i + skip] == sample[i], at, "patch shape ", Shape(p.shape), " differs from ", Shape(sample));
    }
    const std::vector<int64_t> want_label =
        layout.batched ? (layout.one_hot ? std::vector<int64_t>{batch, layout.classes} : std::vector<int64_t>{batch})
                       : (layout.one_hot ? std::vector<int64_t>{layout.classes} : std::vector<int64_t>{});
    bool label_ok = y.shape.size() == want_label.size();
    for (size_t i = 0; label_ok && i < want_label.size(); ++i)
      label_ok = want_label[i] < 0 || y.shape[i] == want_label[i];
    check(label_ok, at, "label shape ", Shape(y.shape), " does not fit the spec for ", batch, " patches");
    if (layout.one_hot && !patches.empty()) check(y.shape.back() == labels.front().shape.back(), at,
                                                  "one-hot width ", y.shape.back(), " differs from earlier elements");
    rows += batch;
    patches.push_back(std::move(p));
    labels.push_back(std::move(y));
  }
  check(!order.empty() || sample_known(), where, "empty data set whose spec leaves the patch shape unknown");
  check(sample[0] > 0 && sample[1] > 0, where, "patches of shape ", Shape(sample), " are empty");

  PatchDataset out;
  std::vector<int64_t> patch_shape{rows, sample[0], sample[1], 1};
  out.patches = Tensor::empty(Shape(patch_shape), DType::f32);
  float* dst = out.patches.data<float>();
  const int64_t per = sample[0] * sample[1];
  int64_t width = layout.one_hot ? (labels.empty() ? std::max<int64_t>(layout.classes, 0) : labels[0].shape.back()) : 0;
  int64_t max_label = -1;
  for (size_t e = 0; e < patches.size(); ++e) {
    const TensorValue& p = patches[e];
    const TensorValue& y = labels[e];
    const std::string at = order[e].first->path + ": record " + std::to_string(order[e].second);
    if (p.dtype == DT_FLOAT && !p.content.empty()) {
      std::memcpy(dst, p.content.data(), p.content.size());
    } else {
      for (int64_t i = 0; i < p.numel; ++i) dst[i] = p.at<float>(i);
    }
    dst += p.numel;
    const int64_t batch = p.numel / per;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t label = -1;
      if (layout.one_hot) {
        int ones = 0;
        for (int64_t k = 0; k < width; ++k) {
          const double v = y.at<double>(b * width + k);
          check(v == 0.0 || v == 1.0, at, "label is not one-hot: entry ", k, " is ", v);
          if (v == 1.0) {
            label = k;
            ++ones;
          }
        }
        check(ones == 1, at, "label is not one-hot: ", ones, " entries are 1");
      } else {
        label = y.at<int64_t>(b);
        check(label >= 0 && label < (int64_t{1} << 30), at, "label ", label, " is not a class index");
      }
      max_label = std::max(max_label, label);
      out.labels.push_back(static_cast<int32_t>(label));
    }
  }
  out.songs.assign(out.labels.size(), -1);
  const int64_t classes = layout.one_hot ? width : max_label + 1;
  if (!options.class_names.empty()) {
    check(!layout.one_hot || static_cast<int64_t>(options.class_names.size()) == width, where,
          options.class_names.size(), " class names for one-hot labels of width ", width);
    out.class_names = options.class_names;
  } else {
    for (int64_t k = 0; k < classes; ++k) out.class_names.push_back("class_" + std::to_string(k));
  }
  out.validate(where);
  return out;
}

// ---- writing

namespace {

std::string shape_proto(const std::vector<int64_t>& dims) {
  proto::Writer shape;
  for (int64_t d : dims) {
    proto::Writer dim;
    dim.varint(1, static_cast<uint64_t>(d));
    shape.bytes(2, dim.str());
  }
  return shape.str();
}

std::string tensor_proto(int dtype, const std::vector<int64_t>& dims, std::string_view content) {
  proto::Writer t;
  t.varint(1, static_cast<uint64_t>(dtype));
  t.bytes(2, shape_proto(dims));
  t.bytes(4, content);
  return t.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  check(out.good(), "save_tfdata", "cannot write ", path.string());
}

}  // namespace

void save_tfdata(const PatchDataset& dataset, const std::string& dir, const TfDataSaveOptions& options) {
  const std::string where = "save_tfdata " + dir;
  dataset.validate(where);
  const Compression compression = parse_compression(options.compression, where);
  check(options.num_shards >= 1, where, "num_shards must be at least 1, got ", options.num_shards);
  check(options.overwrite || !fs::exists(dir), where, "already exists (set overwrite to replace it)");
  check(dataset.patches.device().is_cpu(), where, "patches must be on the CPU");
  const Shape sample = dataset.sample_shape();
  const int64_t classes = dataset.num_classes();
  const int label_dtype = options.one_hot_labels ? DT_FLOAT : DT_INT64;
  const std::vector<int64_t> label_dims = options.one_hot_labels ? std::vector<int64_t>{classes} : std::vector<int64_t>{};

  // dataset_spec.pb: tuple_value { values: tensor_spec_value { shape, dtype } x 2 }
  proto::Writer tuple;
  for (const auto& [dims, dtype] : {std::pair{sample.dims(), int{DT_FLOAT}}, std::pair{label_dims, label_dtype}}) {
    proto::Writer tensor_spec;
    tensor_spec.bytes(2, shape_proto(dims));
    tensor_spec.varint(3, static_cast<uint64_t>(dtype));
    proto::Writer value;
    value.bytes(33, tensor_spec.str());
    tuple.bytes(1, value.str());
  }
  proto::Writer spec;
  spec.bytes(52, tuple.str());

  std::random_device entropy;
  const uint64_t run_id = (uint64_t{entropy()} << 32) | entropy();
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  proto::Writer meta;
  meta.bytes(2, std::to_string(run_id));
  meta.varint(3, static_cast<uint64_t>(now_us));
  meta.varint(4, 2);
  meta.packed_varints(5, {DT_FLOAT, static_cast<uint64_t>(label_dtype)});
  meta.varint(6, static_cast<uint64_t>(dataset.size()));
  meta.varint(1000, 1);

  // Shards: element i in shard i % num_shards, each shard one snapshot file.
  const int64_t n = dataset.size();
  const int64_t per = sample.numel();
  const float* patches = dataset.patches.data<float>();
  const int64_t shards = std::min<int64_t>(options.num_shards, n);
  std::vector<std::string> streams(static_cast<size_t>(shards));
  std::vector<float> one_hot(static_cast<size_t>(classes));
  for (int64_t i = 0; i < n; ++i) {
    std::string& stream = streams[static_cast<size_t>(i % shards)];
    append_record(stream, tensor_proto(DT_FLOAT, sample.dims(),
                                       std::string_view(reinterpret_cast<const char*>(patches + i * per),
                                                        static_cast<size_t>(per) * sizeof(float))));
    const int32_t label = dataset.labels[static_cast<size_t>(i)];
    if (options.one_hot_labels) {
      std::fill(one_hot.begin(), one_hot.end(), 0.0f);
      one_hot[static_cast<size_t>(label)] = 1.0f;
      append_record(stream, tensor_proto(DT_FLOAT, label_dims,
                                         std::string_view(reinterpret_cast<const char*>(one_hot.data()),
                                                          one_hot.size() * sizeof(float))));
    } else {
      const int64_t index = label;
      append_record(stream, tensor_proto(DT_INT64, label_dims,
                                         std::string_view(reinterpret_cast<const char*>(&index), sizeof(index))));
    }
  }

  // Build the directory under a temporary name, then rename it into place.
  fs::path target = fs::absolute(fs::path(dir)).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "out/" names "out"
  const fs::path parent = target.parent_path();
  // A hidden name beside the target, unique to this process and run.
  const auto beside = [&](const char* tag) {
    std::string name = ".";
    name += target.filename().string();
    name += tag;
    name += std::to_string(::getpid());
    name += '.';
    name += std::to_string(run_id);
    return parent / name;
  };
  const fs::path tmp = beside(".tmp.");
  std::error_code ec;
  fs::create_directories(parent, ec);
  check(!ec, where, "cannot create ", parent.string(), ": ", ec.message());
  try {
    fs::create_directories(tmp / std::to_string(run_id));
    write_file(tmp / kSpecFile, spec.str());
    write_file(tmp / kMetadataFile, meta.str());
    for (int64_t s = 0; s < shards; ++s) {
      char shard_name[32];
      std::snprintf(shard_name, sizeof(shard_name), "%08lld.shard", static_cast<long long>(s));
      const fs::path shard_dir = tmp / std::to_string(run_id) / shard_name;
      fs::create_directories(shard_dir);
      write_file(shard_dir / "00000000.snapshot", compress(streams[static_cast<size_t>(s)], compression, where));
    }
    if (fs::exists(target)) {
      const fs::path old = beside(".old.");
      fs::rename(target, old);
      fs::rename(tmp, target);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, target);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    fail(where + ": " + e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace timbre::data
