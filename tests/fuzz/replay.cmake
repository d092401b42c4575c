# The fuzz corpora as ctest cases in every build, libFuzzer or not (included from tests/CMakeLists.txt):
# fuzz_replay_TARGET links tests/fuzz/fuzz_TARGET.cpp's LLVMFuzzerTestOneInput with replay_main.cpp, which runs
# it on each file of tests/fuzz/corpus/TARGET in a child process and names any input that crashes, aborts or
# lets an exception other than jetpinn::Error escape. The libFuzzer targets themselves (fuzz_TARGET,
# JETPINN_FUZZ=ON) stay in tests/fuzz/CMakeLists.txt.
foreach(target config points checkpoint npy)
  add_executable(fuzz_replay_${target} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${target}.cpp
                                       ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
  target_include_directories(fuzz_replay_${target} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(fuzz_replay_${target} PRIVATE jetpinn_app jetpinn_warnings)
  add_test(NAME fuzz_replay_${target} COMMAND fuzz_replay_${target} ${CMAKE_CURRENT_LIST_DIR}/corpus/${target})
  set_tests_properties(fuzz_replay_${target} PROPERTIES ENVIRONMENT "OMP_NUM_THREADS=1" LABELS fuzz)
endforeach()
