# ctest "install_consumer": installs this build to a temporary prefix, then configures and builds
# examples/hidden_states as a separate project with find_package(probescope), and runs it (usage, exit 2)
# to show it links and loads. cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DGENERATOR=... -DCXX=... -DCC=... -P
string(RANDOM LENGTH 8 _tag)
if(DEFINED ENV{TMPDIR})
  set(_work "$ENV{TMPDIR}/ps_install_consumer_${_tag}")
else()
  set(_work "/tmp/ps_install_consumer_${_tag}")
endif()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_consumer: ${what} failed (${rc}), work dir kept at ${_work}:\n${out}")
  endif()
endfunction()

step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${_work}/prefix)
step("configure the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${_work}/build -G ${GENERATOR}
     -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_PREFIX_PATH=${_work}/prefix -DPS_EXAMPLES=hidden_states)
step("build the consumer" ${CMAKE_COMMAND} --build ${_work}/build)
execute_process(COMMAND ${_work}/build/hidden_states RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "install_consumer: hidden_states without arguments exited ${rc}, not 2 (usage)")
endif()
file(REMOVE_RECURSE ${_work})
message(STATUS "install_consumer: installed, found, built and ran examples/hidden_states")
