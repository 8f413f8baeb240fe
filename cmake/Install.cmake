# install(EXPORT): find_package(probescope) in another CMake project gives probescope::ps_<lib> for each
# library and probescope::probescope (all of them, with probescope.h). The Qt faces (ps_render, ps_gui)
# stay in-tree: a library user should not need Qt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(_ps_libraries GLOBAL PROPERTY PS_LIBRARIES)
list(REMOVE_ITEM _ps_libraries ps_render ps_gui)

add_library(ps_all INTERFACE)
target_link_libraries(ps_all INTERFACE ${_ps_libraries})
target_include_directories(ps_all INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}> $<INSTALL_INTERFACE:include>)
set_target_properties(ps_all PROPERTIES EXPORT_NAME probescope)
add_library(probescope::probescope ALIAS ps_all)

# ps_torch, ps_hdf5 and ps_grammars are what the libraries link publicly: exported with them.
install(TARGETS ${_ps_libraries} ps_all ps_torch ps_hdf5 ps_grammars
        EXPORT probescopeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT probescopeTargets NAMESPACE probescope:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/probescope)

# Headers keep their source-root paths ("models/open/open_model.h"); detail/ headers too, since public
# headers of a library may include its own detail/ ones.
install(FILES probescope.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY models data probes analysis DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h"
        REGEX "/data/(models|scripts)$" EXCLUDE)

configure_package_config_file(cmake/probescopeConfig.cmake.in ${CMAKE_BINARY_DIR}/probescopeConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/probescope)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/probescopeConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/probescopeConfig.cmake ${CMAKE_BINARY_DIR}/probescopeConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/probescope)
