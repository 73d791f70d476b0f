# hpcnas_add_part(NAME [TORCH] [LINKS targets...])
# Builds src/NAME/*.cpp into the static library hpcnas_NAME. TORCH parts link LibTorch and share
# one precompiled header, so torch/torch.h is parsed once per build, not once per file.
set(HPCNAS_PCH_TARGET hpcnas_torch_pch)
if(NOT TARGET ${HPCNAS_PCH_TARGET})
  add_library(${HPCNAS_PCH_TARGET} STATIC ${CMAKE_SOURCE_DIR}/cmake/torch_pch.cpp)
  target_link_libraries(${HPCNAS_PCH_TARGET} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${HPCNAS_PCH_TARGET} PRIVATE <torch/torch.h>)
endif()

function(hpcnas_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_precompile_headers(${target} REUSE_FROM ${HPCNAS_PCH_TARGET})
  # GCC accepts a precompiled header only with the code model it was built with (-fPIC, as a
  # library): executables would otherwise get -fPIE and silently parse torch/torch.h again.
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()

function(hpcnas_add_part name)
  cmake_parse_arguments(PART "TORCH" "" "LINKS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  set(target hpcnas_${name})
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(${target} PUBLIC ${PART_LINKS})
  if(PART_TORCH)
    hpcnas_use_torch(${target})
  endif()
endfunction()
