# Every dependency comes from Debian's apt (script/bootstrap) — or, for CUDA builds,
# from PyTorch's bundled LibTorch via -DTorch_DIR=.../Torch.
find_package(Torch REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus 3 REQUIRED)  # study files (app/study), header-only
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TREE_SITTER REQUIRED IMPORTED_TARGET tree-sitter)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(Threads REQUIRED)
if(PS_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# Torch's exported target carries its compile flags; wrap it so our targets use one name.
add_library(ps_torch INTERFACE)
target_link_libraries(ps_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(ps_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

add_library(ps_hdf5 INTERFACE)
target_include_directories(ps_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
target_link_libraries(ps_hdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(ps_hdf5 INTERFACE ${HDF5_DEFINITIONS})
# OpenMP: the runtime LibTorch itself runs on; the transformer's per-sequence attention loop uses it directly.
find_package(OpenMP REQUIRED)
