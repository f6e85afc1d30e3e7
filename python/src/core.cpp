// timbre.Tensor (the NumPy bridge), devices, threads and the seeded generator.
#include <nanobind/stl/string.h>

#include "bindings.h"
#include "timbre/core/parallel.h"
#include "timbre/core/random.h"

namespace timbre::python {

namespace {

// NumPy's __array__ protocol: the tensor's memory when no conversion is asked for.
nb::object array_protocol(const Tensor& t, nb::handle dtype, nb::handle copy) {
  nb::object array = nb::cast(to_numpy(t));
  const nb::module_ np = nb::module_::import_("numpy");
  if (!copy.is_none() && nb::cast<bool>(copy)) array = array.attr("copy")();
  return dtype.is_none() ? array : np.attr("asarray")(array, dtype);
}

std::string tensor_repr(const Tensor& t) {
  return "timbre.Tensor(shape=" + t.shape().str() + ", dtype=" + dtype_name(t.dtype()) + ", device=" +
         t.device().str() + ")";
}

}  // namespace

void bind_core(nb::module_& m) {
  nb::class_<Tensor>(m, "Tensor",
                     "An n-dimensional float32 or float64 array on a device, row-major and channels-last. "
                     "np.asarray(t) views a CPU tensor's memory without copying.")
      .def_prop_ro("shape", [](const Tensor& t) { return shape_tuple(t.shape()); })
      .def_prop_ro("dtype", [](const Tensor& t) { return dtype_name(t.dtype()); })
      .def_prop_ro("device", [](const Tensor& t) { return t.device().str(); })
      .def_prop_ro("ndim", &Tensor::rank)
      .def_prop_ro("size", &Tensor::numel)
      .def("__len__", [](const Tensor& t) { return t.rank() == 0 ? 0 : t.dim(0); })
      .def("numpy", &to_numpy, "The values as a NumPy array (the same memory for a CPU tensor).")
      .def("__array__", &array_protocol, nb::arg("dtype") = nb::none(), nb::arg("copy") = nb::none())
      .def("to", [](const Tensor& t, const std::string& device) { return t.to(parse_device(device)); },
           nb::arg("device"), "A copy on `device` ('cpu', 'cuda', 'cuda:1'; the tensor itself when already there).")
      .def("shares_memory_with", &Tensor::shares_storage_with)
      .def("__repr__", &tensor_repr);

  m.def("tensor", [](nb::handle array) { return wrap_array(array, "tensor", true); }, nb::arg("array"),
        "Wraps a C-contiguous float32 or float64 NumPy array as a Tensor over the same memory (no copy).");

  m.def("manual_seed", &manual_seed, nb::arg("seed"),
        "Seeds timbre's generator (initializers, dropout): models built after it are reproducible.");
  m.def("set_num_threads", &set_num_threads, nb::arg("threads"),
        "Threads of the CPU kernels for this process (default: OMP_NUM_THREADS, else every core).");
  m.def("num_threads", &num_threads);
  m.def("built_with_cuda", &built_with_cuda);
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_unavailable_reason", &cuda_unavailable_reason);
  m.def("device", [](const std::string& spec) { return parse_device(spec).str(); }, nb::arg("spec") = "auto",
        "Resolves 'auto', 'cpu', 'cuda' or 'cuda:N' to the device it names ('auto': a usable GPU, else the "
        "CPU); raises timbre.Error when CUDA is asked for and none is usable.");
}

}  // namespace timbre::python
