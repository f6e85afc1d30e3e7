#include "timbre/io/keras_weights.h"

#include <hdf5.h>

#include <cctype>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "timbre/core/error.h"
#include "timbre/io/atomic_file.h"

namespace timbre::io {
namespace {

// An HDF5 identifier, closed when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr by default; timbre reports failures as timbre::Error.
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

// Keras' naming.to_snake_case: "MaxPooling2D" -> "max_pooling2d", "LeakyReLU" -> "leaky_re_lu".
std::string snake_case(const std::string& name) {
  static const std::regex word("(.)([A-Z][a-z]+)"), boundary("([a-z])([A-Z])");  // compiled once
  std::string s = std::regex_replace(name, word, "$1_$2");
  s = std::regex_replace(s, boundary, "$1_$2");
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string last_component(const std::string& qualified) { return qualified.substr(qualified.rfind('/') + 1); }

// The layers Keras saves, in order: containers that only route data are walked through.
void collect_layers(nn::Module& module, std::vector<nn::Module*>& layers) {
  if (!module.transparent()) {
    layers.push_back(&module);
    return;
  }
  for (nn::Module* child : module.children()) collect_layers(*child, layers);
}

struct KerasLayer {
  nn::Module* module;
  std::string key;  // "conv2d_1": the group under layers/
};

// Keras numbers keys per class in layer order (conv2d, conv2d_1, ...), as saving_lib does.
std::vector<KerasLayer> keras_layers(nn::Module& model) {
  std::vector<nn::Module*> modules;
  collect_layers(model, modules);
  std::map<std::string, int> used;
  std::vector<KerasLayer> layers;
  for (nn::Module* m : modules) {
    std::string key = snake_case(m->type_name());
    auto [it, fresh] = used.try_emplace(key, 0);
    if (!fresh) key.append(1, '_').append(std::to_string(++it->second));
    layers.push_back({m, key});
  }
  return layers;
}

struct LayerVisitor {
  std::function<void(const std::string& group, const std::string& layer_name)> group;
  std::function<void(const std::string& dataset, nn::Module& layer, const nn::Variable& variable)> variable;
};

// Walks one layer's groups and variables in Keras' layout under `prefix` ("layers/lstm/").
void visit_layer(nn::Module& layer, const std::string& prefix, const LayerVisitor& visitor) {
  const std::string type = layer.type_name();
  if (visitor.group) visitor.group(prefix + "vars", layer.name());
  if (type == "Bidirectional") {
    const std::vector<nn::Module*> halves = layer.children();
    visit_layer(*halves.at(0), prefix + "forward_layer/", visitor);
    visit_layer(*halves.at(1), prefix + "backward_layer/", visitor);
    return;
  }
  check(layer.children().empty(), "keras weights", "layer ", layer.name(), " (", type,
        ") holds other layers; only Sequential, Concatenate and Bidirectional(LSTM) may");
  std::string vars = prefix + "vars/";
  if (type == "LSTM") {  // Keras keeps an LSTM's variables in its cell
    if (visitor.group) visitor.group(prefix + "cell/vars", "lstm_cell");
    vars = prefix + "cell/vars/";
  }
  const std::vector<nn::Variable> variables = layer.variables();
  for (size_t i = 0; i < variables.size(); ++i)
    if (visitor.variable) visitor.variable(vars + std::to_string(i), layer, variables[i]);
}

// Whether the link `path` names exists in the file. Keras (h5py) writes hard links
// only: a soft link may lead through an external one, and an external link opens
// another file, which a weights file must not make the reader do. So the walk
// stops at the first link that is not hard, and `path` is not followed further.
enum class Link { missing, hard, other };
Link link_at(hid_t file, const std::string& path) {
  for (size_t slash = path.find('/'); ; slash = path.find('/', slash + 1)) {
    const std::string part = path.substr(0, slash);
    if (H5Lexists(file, part.c_str(), H5P_DEFAULT) <= 0) return Link::missing;
    H5L_info_t info;
    if (H5Lget_info(file, part.c_str(), &info, H5P_DEFAULT) < 0) return Link::missing;
    if (info.type != H5L_TYPE_HARD) return Link::other;
    if (slash == std::string::npos) return Link::hard;
  }
}

bool path_exists(hid_t file, const std::string& path, const std::string& where) {
  const Link link = link_at(file, path);
  check(link != Link::other, where, path, " is reached through a soft or external link (Keras writes hard links ",
        "only; an external link would read another file)");
  return link == Link::hard;
}

std::vector<std::string> group_members(hid_t file, const std::string& group) {
  std::vector<std::string> names;
  Handle g(H5Gopen2(file, group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!g.ok()) return names;
  H5G_info_t info;
  if (H5Gget_info(g.get(), &info) < 0) return names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) break;  // a damaged group: its count may claim links that are not there
    std::string name(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(name);
  }
  return names;
}

// Whether `path` is a dataset or a group with a dataset somewhere below it. Hard
// links can make a group its own descendant: the walk gives up (a timbre::Error)
// beyond kMaxDepth levels or kMaxObjects objects, far more than Keras nests.
constexpr int kMaxDepth = 16;
constexpr int kMaxObjects = 10000;
bool holds_dataset(hid_t file, const std::string& path, const std::string& where, int depth, int& visited) {
  check(depth <= kMaxDepth && ++visited <= kMaxObjects, where, path, " nests groups more than ", kMaxDepth,
        " deep or holds more than ", kMaxObjects, " objects (a cycle of hard links?): not a Keras weights file");
  if (!path_exists(file, path, where)) return false;
  Handle object(H5Oopen(file, path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.ok()) return false;
  const H5I_type_t type = H5Iget_type(object.get());
  if (type == H5I_DATASET) return true;
  if (type != H5I_GROUP) return false;
  for (const std::string& member : group_members(file, path))
    if (holds_dataset(file, path + "/" + member, where, depth + 1, visited)) return true;
  return false;
}

// Whether the object header at `path` holds an External Data Files message (type
// 0x0007 of the HDF5 file format): the dataset's values are in other files. Read
// from the header's list of message types, without decoding the message, which
// libhdf5 1.10.8 does unsafely: a damaged list made H5Dopen2 leave the file
// impossible to close and libhdf5 crash at exit (fuzz/corpus/fuzz_keras_weights/
// hdf5-close-fails.weights.h5). False when the header cannot be read.
bool stores_values_externally(hid_t file, const std::string& path) {
  constexpr unsigned kExternalDataFiles = 0x0007;
#if H5_VERSION_GE(1, 12, 0)
  H5O_native_info_t info;
  if (H5Oget_native_info_by_name(file, path.c_str(), &info, H5O_NATIVE_INFO_HDR, H5P_DEFAULT) < 0) return false;
#else
  H5O_info_t info;
  if (H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_HDR, H5P_DEFAULT) < 0) return false;
#endif
  return (info.hdr.mesg.present >> kExternalDataFiles) & 1;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "(none)" : s;
}

std::string describe(const nn::Module& layer, const std::string& key) {
  return "layer " + layer.name() + " (" + layer.type_name() + ", Keras key layers/" + key + ")";
}

}  // namespace

void load_keras_weights(nn::Module& model, const std::filesystem::path& path) {
  const std::string where = "load_keras_weights(" + path.string() + ")";
  check(model.built(), where, "the model is not built (call build(input_shape) first)");
  check(std::filesystem::is_regular_file(path), where, "no such file");
  QuietHdf5 quiet;
  check(H5Fis_hdf5(path.c_str()) > 0, where, "not an HDF5 file (Keras 3 writes .weights.h5 files in HDF5)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  check(file.ok(), where, "HDF5 cannot open the file");
  const hid_t f = file.get();
  check(path_exists(f, "layers", where), where, "no \"layers\" group: not a Keras 3 weights file");
  const std::vector<std::string> file_layers = group_members(f, "layers");

  // Read and check everything before changing the model.
  struct Pending {
    Tensor target;
    std::vector<double> values;
  };
  std::vector<Pending> pending;
  std::set<std::string> keys;
  for (const KerasLayer& layer : keras_layers(model)) {
    keys.insert(layer.key);
    std::map<std::string, size_t> expected_per_group;
    LayerVisitor visitor;
    visitor.variable = [&](const std::string& dataset, nn::Module& owner, const nn::Variable& variable) {
      const std::string full = "layers/" + layer.key + "/" + dataset;
      const std::string name = last_component(variable.name);
      const Shape& want = variable.value.shape();
      check(path_exists(f, full, where), where, describe(*layer.module, layer.key), ": variable ", name, " of shape ",
            want, " is not in the file (no ", full, "); the file's layers: ", join(file_layers));
      // Values stored outside the file (external raw-data files, virtual datasets) would
      // make the reader load whatever files they name, e.g. /proc/self/environ.
      check(!stores_values_externally(f, full), where, full, " keeps its values in external raw-data files: ",
            "refused, Keras stores them in the file");
      Handle data(H5Dopen2(f, full.c_str(), H5P_DEFAULT), H5Dclose);
      check(data.ok(), where, full, " is not a dataset");
      Handle create(H5Dget_create_plist(data.get()), H5Pclose);
      const H5D_layout_t layout = create.ok() ? H5Pget_layout(create.get()) : H5D_LAYOUT_ERROR;
      check(layout >= 0, where, "cannot read the storage layout of ", full);
      check(layout != H5D_VIRTUAL, where, full, " is a virtual dataset (its values are in other datasets or files): ",
            "refused, Keras stores them in the file");
      Handle space(H5Dget_space(data.get()), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.get());
      check(rank >= 0, where, "cannot read the shape of ", full);
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      std::vector<int64_t> got(dims.begin(), dims.end());
      // A Bidirectional's variables also name their half (forward_lstm, backward_lstm).
      const std::string half = &owner == layer.module ? "" : " of " + owner.name();
      check(Shape(got) == want, where, describe(*layer.module, layer.key), ": variable ", name, half, " has shape ",
            want, " in the model but ", Shape(got), " in the file (", full,
            "): the file holds another architecture");
      Handle type(H5Dget_type(data.get()), H5Tclose);
      check(H5Tget_class(type.get()) == H5T_FLOAT, where, full, " does not hold floating-point values");
      std::vector<double> values(static_cast<size_t>(want.numel()));
      check(H5Dread(data.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0, where,
            "cannot read ", full);
      pending.push_back({variable.value, std::move(values)});
      ++expected_per_group[full.substr(0, full.rfind('/'))];
    };
    visit_layer(*layer.module, "", visitor);
    for (const auto& [group, count] : expected_per_group) {
      const size_t in_file = group_members(f, group).size();
      check(in_file == count, where, describe(*layer.module, layer.key), ": the file has ", in_file,
            " variables in ", group, ", the model ", count);
    }
  }
  for (const std::string& key : file_layers) {
    int visited = 0;
    check(keys.count(key) || !holds_dataset(f, "layers/" + key, where, 0, visited), where,
          "the file has weights for layers/", key, ", which the model lacks: the file holds another architecture");
  }

  for (const Pending& p : pending)
    p.target.copy_from(Tensor::from<double>(p.target.shape(), p.values).to(p.target.dtype()).to(p.target.device()));
}

void save_keras_weights(nn::Module& model, const std::filesystem::path& path) {
  const std::string where = "save_keras_weights(" + path.string() + ")";
  check(model.built(), where, "the model is not built (call build(input_shape) first)");
  QuietHdf5 quiet;
  // Built in memory (HDF5's core driver, no backing store), then written atomically.
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  check(access.ok() && H5Pset_fapl_core(access.get(), 1 << 20, 0) >= 0, where, "cannot set up HDF5");
  Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.get()), H5Fclose);
  check(file.ok(), where, "HDF5 cannot create the file image");
  Handle create_parents(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(create_parents.get(), 1);
  Handle string_type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(string_type.get(), H5T_VARIABLE);
  H5Tset_cset(string_type.get(), H5T_CSET_UTF8);

  // Each group gets a "name" attribute, as Keras writes (it names the layer).
  auto make_group = [&](const std::string& group, const std::string& name) {
    Handle g(H5Gcreate2(file.get(), group.c_str(), create_parents.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    check(g.ok(), where, "cannot create group ", group);
    Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attribute(H5Acreate2(g.get(), "name", string_type.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char* text = name.c_str();
    check(attribute.ok() && H5Awrite(attribute.get(), string_type.get(), &text) >= 0, where,
          "cannot write the name of ", group);
  };
  make_group("layers", "layers");
  for (const KerasLayer& layer : keras_layers(model)) {
    const std::string prefix = "layers/" + layer.key + "/";
    LayerVisitor visitor;
    visitor.group = [&](const std::string& group, const std::string& name) { make_group(prefix + group, name); };
    visitor.variable = [&](const std::string& dataset, nn::Module&, const nn::Variable& variable) {
      const std::string full = prefix + dataset;
      const Shape& shape = variable.value.shape();
      std::vector<hsize_t> dims;
      for (int64_t i = 0; i < shape.rank(); ++i) dims.push_back(static_cast<hsize_t>(shape[i]));
      Handle space(shape.rank() == 0 ? H5Screate(H5S_SCALAR)
                                     : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                   H5Sclose);
      Handle data(H5Dcreate2(file.get(), full.c_str(), H5T_IEEE_F32LE, space.get(), create_parents.get(),
                             H5P_DEFAULT, H5P_DEFAULT),
                  H5Dclose);
      const std::vector<float> values = variable.value.to_vector<float>();
      check(data.ok() && H5Dwrite(data.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
            where, "cannot write ", full);
    };
    visit_layer(*layer.module, prefix, LayerVisitor{});  // checks the layer is supported before writing
    visit_layer(*layer.module, "", visitor);
  }
  make_group("vars", model.name());

  check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL) >= 0, where, "cannot flush the file image");
  const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
  check(size > 0, where, "cannot get the file image");
  std::string bytes(static_cast<size_t>(size), '\0');
  check(H5Fget_file_image(file.get(), bytes.data(), bytes.size()) == size, where, "cannot copy the file image");
  write_file_atomically(path, bytes);
}

}  // namespace timbre::io
