// timbre._timbre: the extension behind the Python package (python/timbre).
#include "bindings.h"
#include "timbre/data/patches.h"

NB_MODULE(_timbre, m) {
  namespace nb = nanobind;
  using namespace timbre::python;
  m.doc() = "timbre's C++ library; use it through the timbre package";
  // timbre's errors keep their message; a clip that cannot be used is a ClipError.
  const nb::exception<timbre::Error> error(m, "Error", PyExc_RuntimeError);
  nb::exception<timbre::data::ClipError>(m, "ClipError", error);
  bind_core(m);
  bind_nn(m);
  nb::module_ data = m.def_submodule("data");
  bind_data(data);
  bind_train(m);
  bind_io(m);
}
