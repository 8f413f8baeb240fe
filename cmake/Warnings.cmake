# Warnings on for our code only (dependencies' headers are SYSTEM).
add_library(ps_warnings INTERFACE)
target_compile_options(ps_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)

if(PS_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Helper: ps_library(name SOURCES ... DEPS ...)
# Headers are found through the source root ("models/util/error.h") of the libraries a target links, in
# the build tree and under include/ when installed; cmake/check_layering.py checks that each include's
# owner is among them. Every ps_library is recorded in PS_LIBRARIES (layering check, install).
function(ps_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}> $<INSTALL_INTERFACE:include>)
  target_link_libraries(${name} PUBLIC ${A_DEPS} PRIVATE $<BUILD_INTERFACE:ps_warnings>)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  set_property(GLOBAL APPEND PROPERTY PS_LIBRARIES ${name})
endfunction()

# Helper: ps_test(name SOURCES ... DEPS ...) — one GoogleTest binary, discovered by ctest.
function(ps_test name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS} ps_test_scratch GTest::gtest GTest::gtest_main ps_warnings)
  target_compile_definitions(${name} PRIVATE PS_SOURCE_DIR="${CMAKE_SOURCE_DIR}" PS_BINARY_DIR="${CMAKE_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 PROPERTIES TIMEOUT 900)
endfunction()
