# Sanitizer builds: -DJETPINN_SANITIZE=address,undefined (any list -fsanitize accepts) instruments every target.
# UBSan does not recover (-fno-sanitize-recover), so any report fails the test that triggered it; ASan halts on
# its first report by default. Run the suite with ASAN_OPTIONS/UBSAN_OPTIONS as tools/test.sh sets them.
set(JETPINN_SANITIZE "" CACHE STRING "Sanitizers for all targets, e.g. address,undefined (empty: none)")
if(JETPINN_SANITIZE)
  set(_jp_san -fsanitize=${JETPINN_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_jp_san}>")
  add_link_options(-fsanitize=${JETPINN_SANITIZE})
  message(STATUS "jetpinn: sanitizers ${JETPINN_SANITIZE}")
endif()
