# Install and export. `cmake --install` puts the libraries, the headers (flat, in include/jetpinn/), the jetpinn
# driver and a CMake package in place, so another project can
#   find_package(jetpinn 0.1 REQUIRED)   target_link_libraries(app PRIVATE jetpinn::jetpinn)
# jetpinn::jetpinn is the core, the file formats, the problems, Model and driver_main, plus the CUDA backend when this build has it.
# Included from the top-level CMakeLists.txt after every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(jetpinn_library INTERFACE)
set_target_properties(jetpinn_library PROPERTIES EXPORT_NAME jetpinn)
target_link_libraries(jetpinn_library INTERFACE jetpinn_app jetpinn_pdes jetpinn_formats jetpinn_core)
if(JETPINN_HAVE_CUDA)
  target_link_libraries(jetpinn_library INTERFACE jetpinn_cuda)
endif()
# In this tree, <jetpinn/jetpinn.h> is a forwarding header, so examples read as they would against an install.
file(WRITE ${PROJECT_BINARY_DIR}/include/jetpinn/jetpinn.h "#include \"${PROJECT_SOURCE_DIR}/tools/jetpinn.h\"\n")
target_include_directories(jetpinn_library INTERFACE $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>)
add_library(jetpinn::jetpinn ALIAS jetpinn_library)

# Static libraries carry their private link dependencies (warnings, arch, BLAS), so those travel too.
set(JETPINN_EXPORTED jetpinn_library jetpinn_app jetpinn_pdes jetpinn_formats jetpinn_core jetpinn_blas jetpinn_arch jetpinn_warnings)
file(GLOB JETPINN_PUBLIC_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/*.h ${PROJECT_SOURCE_DIR}/formats/*.h
     ${PROJECT_SOURCE_DIR}/pdes/*.h
     ${PROJECT_SOURCE_DIR}/tools/jetpinn.h ${PROJECT_SOURCE_DIR}/tools/model.h ${PROJECT_SOURCE_DIR}/tools/driver.h)
if(JETPINN_HAVE_CUDA)
  list(APPEND JETPINN_EXPORTED jetpinn_cuda)
  if(JETPINN_CUDA_EMULATED)
    list(APPEND JETPINN_EXPORTED jetpinn_cuda_emu)
  endif()
  file(GLOB JETPINN_CUDA_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/kernels/*.h)
  list(APPEND JETPINN_PUBLIC_HEADERS ${JETPINN_CUDA_HEADERS})
endif()

install(TARGETS ${JETPINN_EXPORTED} EXPORT jetpinnTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS jetpinn RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${JETPINN_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/jetpinn)

set(JETPINN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/jetpinn)
install(EXPORT jetpinnTargets NAMESPACE jetpinn:: DESTINATION ${JETPINN_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/jetpinnConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/jetpinnConfig.cmake INSTALL_DESTINATION ${JETPINN_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/jetpinnConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/jetpinnConfig.cmake ${PROJECT_BINARY_DIR}/jetpinnConfigVersion.cmake
        DESTINATION ${JETPINN_CMAKE_DIR})
