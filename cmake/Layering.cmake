# The layering check (ctest "layering"): every header lives under the one source root, so include paths
# alone cannot stop a library from including a header of a library it does not link. At generate time
# this writes each library's directory, sources and direct links; check_layering.py fails on an include
# whose owning library is not among the includer's transitive links, or on another library's detail/.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
get_property(_ps_libraries GLOBAL PROPERTY PS_LIBRARIES)
set(_ps_layering "")
foreach(_lib IN LISTS _ps_libraries)
  get_target_property(_dir ${_lib} SOURCE_DIR)
  string(APPEND _ps_layering
         "${_lib}\t${_dir}\t$<TARGET_PROPERTY:${_lib},SOURCES>\t$<TARGET_PROPERTY:${_lib},LINK_LIBRARIES>\n")
endforeach()
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/layering/targets.tsv CONTENT "${_ps_layering}")
add_test(NAME layering
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/cmake/check_layering.py
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/layering/targets.tsv)
