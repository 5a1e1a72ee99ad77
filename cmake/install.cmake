# `cmake --install build [--prefix P] [--component C]` lays out
#   P/lib/libgradgate.a, libgradgate_core.a      component library
#   P/include/gradgate/...                        component library
#   P/lib/cmake/gradgate/gradgateConfig.cmake     component library: find_package(gradgate)
#                                                 gives the target gradgate::gradgate
#   P/bin/ensemble-*                              component tools
#   P/share/gradgate/config, masks                component data
#   P/share/gradgate/models                       component models (the trained members, large)
# An installed tool reads config/models/masks from its ../share/gradgate (data_home() in
# config.h); a program linking the library finds them the same way, or through GRADGATE_HOME.
# The process policy (src/cli_common/process_policy.h) and the option parsing (gradgate_cli)
# stay with the tools: the library changes no process-wide setting by being linked.
include(CMakePackageConfigHelpers)

set(GRADGATE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradgate)
set_target_properties(gradgate PROPERTIES EXPORT_NAME gradgate)
set_target_properties(gradgate_core PROPERTIES EXPORT_NAME core)

install(TARGETS gradgate gradgate_core EXPORT gradgateTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/gradgate DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT library)
install(EXPORT gradgateTargets NAMESPACE gradgate:: DESTINATION ${GRADGATE_CMAKE_DIR}
        COMPONENT library)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/gradgateConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/gradgateConfig.cmake
                              INSTALL_DESTINATION ${GRADGATE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/gradgateConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/gradgateConfig.cmake ${CMAKE_BINARY_DIR}/gradgateConfigVersion.cmake
        DESTINATION ${GRADGATE_CMAKE_DIR} COMPONENT library)

install(TARGETS ${GRADGATE_TOOLS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config ${CMAKE_SOURCE_DIR}/masks
        DESTINATION ${CMAKE_INSTALL_DATADIR}/gradgate COMPONENT data)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/models DESTINATION ${CMAKE_INSTALL_DATADIR}/gradgate
        COMPONENT models PATTERN "checkpoints" EXCLUDE)
