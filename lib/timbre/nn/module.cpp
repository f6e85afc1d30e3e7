#include "timbre/nn/module.h"

#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

namespace timbre::nn {

namespace {
thread_local int build_depth = 0;

// Keras' to_snake_case: "Conv2D" -> "conv2d", "LeakyReLU" -> "leaky_re_lu".
std::string snake_case(const std::string& name) {
  std::string s = std::regex_replace(name, std::regex("(.)([A-Z][a-z]+)"), "$1_$2");
  s = std::regex_replace(s, std::regex("([a-z])([A-Z])"), "$1_$2");
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void name_tree(Module& m, std::map<std::string, int>& used, std::string (*base)(Module&)) {
  if (m.name().empty()) {
    const std::string b = base(m);
    const int k = used[b]++;
    m.set_name(k == 0 ? b : b + "_" + std::to_string(k));
  }
  for (Module* c : m.children()) name_tree(*c, used, base);
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string byte_size(int64_t bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  if (bytes < 1024)
    out << static_cast<double>(bytes) << " B";
  else if (bytes < 1024 * 1024)
    out << static_cast<double>(bytes) / 1024 << " KB";
  else
    out << static_cast<double>(bytes) / (1024 * 1024) << " MB";
  return out.str();
}
}  // namespace

std::string Module::base_name() const { return snake_case(type_name()); }

void Module::assign_names() {
  std::map<std::string, int> used;
  name_tree(*this, used, [](Module& m) { return m.base_name(); });
}

Shape Module::build(const Shape& input, DType dtype) {
  if (build_depth == 0) assign_names();
  struct Depth {
    Depth() { ++build_depth; }
    ~Depth() { --build_depth; }
  } depth;
  check(!built_ || (input == input_shape_ && dtype == dtype_), name_.empty() ? type_name() : name_,
        "already built for input ", input_shape_.prepend(-1), ", cannot rebuild for ", input.prepend(-1));
  if (built_) return output_shape_;
  dtype_ = dtype;
  input_shape_ = input;
  output_shape_ = on_build(input);
  built_ = true;
  return output_shape_;
}

Tensor Module::operator()(const Tensor& x) {
  check(built_, name_.empty() ? type_name() : name_, "call build(input_shape) before running the module");
  check(x.rank() == input_shape_.rank() + 1 && x.shape().drop_front() == input_shape_, name_,
        "expected input ", input_shape_.prepend(-1), ", got ", x.shape());
  check(x.dtype() == dtype_, name_, "expected ", dtype_name(dtype_), " input, got ", dtype_name(x.dtype()));
  return forward(x);
}

void Module::set_training(bool training) {
  training_ = training;
  for (Module* c : children()) c->set_training(training);
}

Tensor& Module::add_variable(const std::string& name, Tensor value, bool trainable) {
  if (value.dtype() != dtype_) value = value.to(dtype_);
  if (trainable) value.set_requires_grad(true);
  own_.push_back({name, value, trainable});
  return own_.back().value;
}

void Module::collect_variables(std::vector<Variable>& out, const std::string& prefix) {
  const std::string path = transparent() ? prefix : prefix + name_ + "/";
  for (const Variable& v : own_) out.push_back({path + v.name, v.value, v.trainable});
  for (Module* c : children()) c->collect_variables(out, path);
}

std::vector<Variable> Module::variables() {
  std::vector<Variable> out;
  collect_variables(out, "");
  return out;
}

std::vector<Tensor> Module::trainable_parameters() {
  std::vector<Tensor> out;
  for (const Variable& v : variables())
    if (v.trainable) out.push_back(v.value);
  return out;
}

int64_t Module::parameter_count(bool trainable) {
  int64_t n = 0;
  for (const Variable& v : variables())
    if (v.trainable == trainable) n += v.value.numel();
  return n;
}

void Module::to(Device device) {
  for (Variable& v : own_) {
    Tensor moved = v.value.to(device);
    v.value.impl().storage = moved.impl().storage;
    v.value.impl().offset = moved.impl().offset;
  }
  for (Module* c : children()) c->to(device);
}

void Module::summary_rows(std::vector<SummaryRow>& rows) {
  int64_t n = 0;
  for (const Variable& v : variables()) n += v.value.numel();
  rows.push_back({name_, type_name(), output_shape_.prepend(-1), n});
}

void Module::summary(std::ostream& out) {
  check(built_, type_name(), "build the model before printing its summary");
  std::vector<SummaryRow> rows;
  if (transparent())
    summary_rows(rows);
  else
    Module::summary_rows(rows);
  const std::string rule(80, '-'), heavy(80, '=');
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << std::left << std::setw(38) << "Layer (type)" << std::setw(28) << "Output Shape" << std::right
      << std::setw(14) << "Param #" << "\n"
      << heavy << "\n";
  for (const SummaryRow& r : rows)
    out << std::left << std::setw(38) << (r.layer + " (" + r.type + ") ") << std::setw(28) << r.output_shape.str()
        << std::right << std::setw(14) << with_commas(r.parameters) << "\n";
  const int64_t trainable = parameter_count(true), frozen = parameter_count(false);
  const int64_t bytes = static_cast<int64_t>(dtype_size(dtype_));
  out << heavy << "\n"
      << "Total params: " << with_commas(trainable + frozen) << " (" << byte_size((trainable + frozen) * bytes)
      << ")\n"
      << "Trainable params: " << with_commas(trainable) << " (" << byte_size(trainable * bytes) << ")\n"
      << "Non-trainable params: " << with_commas(frozen) << " (" << byte_size(frozen * bytes) << ")\n"
      << rule << "\n";
}

}  // namespace timbre::nn
