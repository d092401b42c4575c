# Sanitizer and fuzzing builds.
# -DJETPINN_SANITIZE=address,undefined (any list -fsanitize accepts) instruments every target. UBSan does not
# recover (-fno-sanitize-recover), so any report fails the test that triggered it; ASan halts on its first
# report by default. tools/test.sh builds build-asan this way and runs the CPU suite under it.
# -DJETPINN_FUZZ=ON (clang only) adds -fsanitize=fuzzer-no-link everywhere and builds tests/fuzz; it turns on
# address,undefined when JETPINN_SANITIZE is empty. tools/fuzz.sh configures, builds and runs it.
set(JETPINN_SANITIZE "" CACHE STRING "Sanitizers for all targets, e.g. address,undefined (empty: none)")
option(JETPINN_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)
if(JETPINN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "JETPINN_FUZZ=ON needs clang (libFuzzer), got ${CMAKE_CXX_COMPILER_ID}; "
                        "configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT JETPINN_SANITIZE)
    set(JETPINN_SANITIZE address,undefined)
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>")
endif()
if(JETPINN_SANITIZE)
  set(_jp_san -fsanitize=${JETPINN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_jp_san}>")
  add_link_options(-fsanitize=${JETPINN_SANITIZE})
  message(STATUS "jetpinn: sanitizers ${JETPINN_SANITIZE}")
endif()
