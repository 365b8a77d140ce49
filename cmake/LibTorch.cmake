# Which LibTorch sinklab builds on (SINKLAB_LIBTORCH):
#
#   auto   (preset default) CMAKE_PREFIX_PATH's LibTorch if one is given; otherwise the
#          wheel LibTorch that scripts/setup.sh unpacked into .deps/libtorch (CPU);
#          otherwise Debian's libtorch-dev.
#   wheel  the LibTorch in SINKLAB_LIBTORCH_DIR (.deps/libtorch), CPU libraries only.
#   cuda   (preset cuda) the same wheel through its own CMake config, CUDA enabled;
#          needs the CUDA toolkit (nvcc) and `SINKLAB_TORCH=cuda bash scripts/setup.sh`.
#   system (preset system) find_package(Torch): Debian's libtorch-dev (1.13).
#
# Defines the target sinklab::libtorch and SINKLAB_LIBTORCH_VERSION.
#
# The wheel's CPU build is linked through a target of our own rather than its
# TorchConfig.cmake: that config is the CUDA build's and refuses to configure without a
# CUDA toolkit, which a CPU user does not have. libtorch_cpu and libc10 are linked by full
# path, so the binary's RPATH points at .deps/libtorch/torch/lib and the wheel's libc10
# loads even where Debian's libtorch-dev puts another libc10.so on the loader's path.

set(SINKLAB_LIBTORCH "auto" CACHE STRING "LibTorch to build on: auto, wheel, cuda, system")
set_property(CACHE SINKLAB_LIBTORCH PROPERTY STRINGS auto wheel cuda system)
set(SINKLAB_LIBTORCH_DIR "${CMAKE_SOURCE_DIR}/.deps/libtorch" CACHE PATH
    "Where scripts/setup.sh unpacked the PyPI wheel's LibTorch")

function(_sinklab_torch_fail what)
  message(FATAL_ERROR "sinklab: ${what}; run `bash scripts/setup.sh` (wheel LibTorch), "
          "or point the build at another LibTorch with CMAKE_PREFIX_PATH=/path/to/libtorch, "
          "or use Debian's with SINKLAB_TORCH=system")
endfunction()

if(NOT SINKLAB_LIBTORCH MATCHES "^(auto|wheel|cuda|system)$")
  message(FATAL_ERROR "sinklab: SINKLAB_LIBTORCH=${SINKLAB_LIBTORCH} is not one of auto, wheel, cuda, system")
endif()
# SINKLAB_LIBTORCH_KIND: what `auto` resolves to (wheel, cuda or system).
set(SINKLAB_LIBTORCH_KIND "${SINKLAB_LIBTORCH}")
if(SINKLAB_LIBTORCH_KIND STREQUAL "auto")
  if(NOT (CMAKE_PREFIX_PATH OR DEFINED ENV{CMAKE_PREFIX_PATH})
     AND EXISTS "${SINKLAB_LIBTORCH_DIR}/torch/lib/libtorch_cpu.so")
    set(SINKLAB_LIBTORCH_KIND "wheel")
  else()
    set(SINKLAB_LIBTORCH_KIND "system")
  endif()
endif()

set(_lt_root "${SINKLAB_LIBTORCH_DIR}/torch")
add_library(sinklab_libtorch INTERFACE)
if(SINKLAB_LIBTORCH_KIND STREQUAL "wheel")
  foreach(f lib/libtorch_cpu.so lib/libc10.so include/torch/csrc/api/include/torch/torch.h)
    if(NOT EXISTS "${_lt_root}/${f}")
      _sinklab_torch_fail("the wheel LibTorch in ${SINKLAB_LIBTORCH_DIR} has no ${f}")
    endif()
  endforeach()
  target_include_directories(sinklab_libtorch SYSTEM INTERFACE
      "${_lt_root}/include" "${_lt_root}/include/torch/csrc/api/include")
  target_link_libraries(sinklab_libtorch INTERFACE
      "${_lt_root}/lib/libtorch_cpu.so" "${_lt_root}/lib/libc10.so")
  file(STRINGS "${SINKLAB_LIBTORCH_DIR}/VERSION" SINKLAB_LIBTORCH_VERSION LIMIT_COUNT 1)
elseif(SINKLAB_LIBTORCH_KIND STREQUAL "cuda")
  if(NOT EXISTS "${SINKLAB_LIBTORCH_DIR}/KIND")
    _sinklab_torch_fail("no wheel LibTorch in ${SINKLAB_LIBTORCH_DIR}")
  endif()
  file(STRINGS "${SINKLAB_LIBTORCH_DIR}/KIND" _lt_unpacked LIMIT_COUNT 1)
  if(NOT _lt_unpacked STREQUAL "cuda")
    message(FATAL_ERROR "sinklab: ${SINKLAB_LIBTORCH_DIR} holds the CPU libraries only; "
            "run `SINKLAB_TORCH=cuda bash scripts/setup.sh` for the CUDA ones")
  endif()
  # The wheel's own config, and every Caffe2/Torch config it pulls in from the same wheel
  # (a Debian libtorch-dev on the same machine must not be found instead).
  set(Torch_DIR "${_lt_root}/share/cmake/Torch" CACHE PATH "" FORCE)
  set(Caffe2_DIR "${_lt_root}/share/cmake/Caffe2" CACHE PATH "" FORCE)
  # The NVIDIA libraries torch links come from their wheels (as pip installs them), the
  # CUDA compiler from the toolkit on PATH.
  file(GLOB _lt_nv_libs LIST_DIRECTORIES true "${SINKLAB_LIBTORCH_DIR}/nvidia/*/lib")
  list(APPEND CMAKE_LIBRARY_PATH ${_lt_nv_libs})
  file(GLOB _lt_nv_inc LIST_DIRECTORIES true "${SINKLAB_LIBTORCH_DIR}/nvidia/*/include")
  list(APPEND CMAKE_INCLUDE_PATH ${_lt_nv_inc})
  # TorchConfig looks its libraries up with find_library(... PATHS wheel/lib), which
  # searches the system first: pin them to the wheel's.
  set(TORCH_LIBRARY "${_lt_root}/lib/libtorch.so" CACHE FILEPATH "" FORCE)
  set(c10_LIBRARY "${_lt_root}/lib/libc10.so" CACHE FILEPATH "" FORCE)
  set(C10_CUDA_LIBRARY "${_lt_root}/lib/libc10_cuda.so" CACHE FILEPATH "" FORCE)
  find_package(Torch REQUIRED NO_DEFAULT_PATH PATHS "${_lt_root}/share/cmake/Torch")
  target_link_libraries(sinklab_libtorch INTERFACE ${TORCH_LIBRARIES})
  # Resolve the NVIDIA libraries' own dependencies at link time, and find them at run time.
  string(REPLACE ";" ":" _lt_nv_path "${_lt_nv_libs}")
  target_link_options(sinklab_libtorch INTERFACE "LINKER:-rpath-link,${_lt_nv_path}")
  file(STRINGS "${SINKLAB_LIBTORCH_DIR}/VERSION" SINKLAB_LIBTORCH_VERSION LIMIT_COUNT 1)
else()
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    _sinklab_torch_fail("no LibTorch found (no TorchConfig.cmake on CMAKE_PREFIX_PATH, "
                        "no libtorch-dev, nothing in ${SINKLAB_LIBTORCH_DIR})")
  endif()
  target_link_libraries(sinklab_libtorch INTERFACE ${TORCH_LIBRARIES})
  set(SINKLAB_LIBTORCH_VERSION "${Torch_VERSION}")
endif()
add_library(sinklab::libtorch ALIAS sinklab_libtorch)

# LibTorch 2.10 and newer need C++20 in their headers; 1.13 builds as C++17.
if(SINKLAB_LIBTORCH_VERSION VERSION_GREATER_EQUAL "2.10")
  set(CMAKE_CXX_STANDARD 20)
endif()
target_compile_definitions(sinklab_libtorch INTERFACE
    SINKLAB_LIBTORCH_VERSION="${SINKLAB_LIBTORCH_VERSION}"
    SINKLAB_LIBTORCH_KIND="${SINKLAB_LIBTORCH_KIND}")
message(STATUS "sinklab: LibTorch ${SINKLAB_LIBTORCH_VERSION} (${SINKLAB_LIBTORCH_KIND})")
