# Included by CMakeLists.txt. Optional RTNeural backend (cpp/src/rtneural_backend.cpp), header-only use of the user's checkout.
# Eigen is RTNeural's default and its fastest run-time Model; xsimd needs XSIMD_DIR or the
# modules/xsimd submodule; stl needs nothing else.
set(RTNEURAL_BACKEND "eigen" CACHE STRING "RTNeural math backend to wrap: eigen, xsimd or stl")
set(XSIMD_DIR "" CACHE PATH "xsimd checkout (for RTNEURAL_BACKEND=xsimd)")
# The environment variables are read on every configure and never cached, so a reused build
# directory follows them (a -D value is cached, as usual in CMake).
foreach(_var RTNEURAL_DIR XSIMD_DIR)
  if(DEFINED ENV{${_var}})
    set(${_var} "$ENV{${_var}}")
  endif()
endforeach()
if(RTNEURAL_DIR)
  set(_rtn_source ${PROJECT_SOURCE_DIR}/cpp/src/rtneural_backend.cpp)
  if(NOT EXISTS "${RTNEURAL_DIR}/RTNeural/RTNeural.h" OR NOT EXISTS "${RTNEURAL_DIR}/modules/json/json.hpp")
    message(FATAL_ERROR "RTNEURAL_DIR='${RTNEURAL_DIR}' is not an RTNeural checkout (no "
      "RTNeural/RTNeural.h or modules/json/json.hpp in it). Point it at the root of a clone of "
      "https://github.com/jatinchowdhury18/RTNeural, or unset it to build without RTNeural.")
  endif()
  set(_rtn_includes "${RTNEURAL_DIR}")
  if(RTNEURAL_BACKEND STREQUAL "eigen")
    if(NOT EXISTS "${RTNEURAL_DIR}/modules/Eigen/Eigen/Dense")
      message(FATAL_ERROR "RTNEURAL_BACKEND=eigen but ${RTNEURAL_DIR}/modules/Eigen/Eigen/Dense "
        "is missing; use a full RTNeural checkout or -Ccmake.define.RTNEURAL_BACKEND=xsimd|stl.")
    endif()
    list(APPEND _rtn_includes "${RTNEURAL_DIR}/modules/Eigen")
    set(_rtn_define RTNEURAL_USE_EIGEN=1)
  elseif(RTNEURAL_BACKEND STREQUAL "xsimd")
    set(_xsimd_include "")
    foreach(_dir "${XSIMD_DIR}/include" "${XSIMD_DIR}" "${RTNEURAL_DIR}/modules/xsimd/include")
      if(_xsimd_include STREQUAL "" AND EXISTS "${_dir}/xsimd/xsimd.hpp")
        set(_xsimd_include "${_dir}")
      endif()
    endforeach()
    if(_xsimd_include STREQUAL "")
      message(FATAL_ERROR "RTNEURAL_BACKEND=xsimd but no xsimd/xsimd.hpp was found: set XSIMD_DIR "
        "to an xsimd checkout (the commit RTNeural pins in modules/xsimd) or run "
        "`git submodule update --init` in RTNEURAL_DIR.")
    endif()
    list(APPEND _rtn_includes "${_xsimd_include}")
    set(_rtn_define RTNEURAL_USE_XSIMD=1)
  elseif(RTNEURAL_BACKEND STREQUAL "stl")
    set(_rtn_define "")
  else()
    message(FATAL_ERROR "RTNEURAL_BACKEND='${RTNEURAL_BACKEND}': use eigen, xsimd or stl.")
  endif()
  set(_rtn_options "")
  foreach(_dir IN LISTS _rtn_includes)
    list(APPEND _rtn_options "-isystem${_dir}")
  endforeach()
  set_source_files_properties(${_rtn_source} PROPERTIES
    COMPILE_DEFINITIONS "VASHRINK_WITH_RTNEURAL=1;${_rtn_define}"
    COMPILE_OPTIONS "${_rtn_options}")
  message(STATUS "vashrink: RTNeural backend '${RTNEURAL_BACKEND}' from ${RTNEURAL_DIR}")
else()
  message(STATUS "vashrink: building without RTNeural (set RTNEURAL_DIR to wrap it)")
endif()
