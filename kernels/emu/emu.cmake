# timbre_emu: the CUDA kernels (kernels/cuda/*.cu) compiled as C++ into
# namespace timbre::kernels::emu and run by the SIMT emulator on the CPU; only
# the tests link it. A source file has one language per directory, so each .cu
# is compiled through a generated .cpp that includes it.
file(GLOB TIMBRE_EMU_CUDA_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/kernels/cuda/*.cu)
set(TIMBRE_EMU_SOURCES ${PROJECT_SOURCE_DIR}/kernels/emu/simt.cpp)
foreach(cu ${TIMBRE_EMU_CUDA_SOURCES})
  get_filename_component(name ${cu} NAME_WE)
  set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/emu/${name}.cpp)
  file(CONFIGURE OUTPUT ${wrapper} CONTENT "#include \"${cu}\"\n")
  list(APPEND TIMBRE_EMU_SOURCES ${wrapper})
endforeach()
add_library(timbre_emu STATIC ${TIMBRE_EMU_SOURCES})
target_include_directories(timbre_emu PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(timbre_emu PUBLIC timbre::timbre)
# -Wno-unknown-pragmas: g++ ignores the kernels' #pragma unroll.
target_compile_options(timbre_emu PRIVATE -Wall -Wextra -Wno-unknown-pragmas)
