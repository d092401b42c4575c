// Entry point of the CUDA test binary: with no usable device it prints why and exits 77, which ctest
// reports as skipped (SKIP_RETURN_CODE), never as passed. A filter that selects no test case fails (doctest_run.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include "doctest_run.h"

#include <cstdio>
#include <string>

#include "cuda_device.h"

int main(int argc, char** argv) {
  std::string why;
  if (jetpinn::cuda::device_count(&why) == 0) {
    std::printf("SKIPPED: CUDA tests need a GPU (%s)\n", why.c_str());
    return 77;
  }
  std::printf("CUDA device 0: %s\n", jetpinn::cuda::device_name(0).c_str());
  doctest::Context ctx(argc, argv);
  return jt_doctest::run_doctest(ctx);
}
