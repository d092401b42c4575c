// Under AddressSanitizer the emulated device's bounds checks are ASan's: a kernel that writes one element past
// a device allocation ("global") or reads past the launch's dynamic shared memory ("shared") must stop the
// process with an ASan report (ctest expects the report). Built only in the ASan EMULATE configuration.
#include <cstdio>
#include <cstring>

#include "launch.h"

namespace {
__global__ void global_overrun_kernel(int* out, int n) { out[threadIdx.x] = n; }  // launched with n + 1 threads

__global__ void shared_overrun_kernel(int* out, int n) {
  JETPINN_DYNAMIC_SHARED(int, s, 16);
  s[threadIdx.x] = 1;
  __syncthreads();
  if (threadIdx.x == 0) out[0] = s[n];  // n ints were asked for
}
}  // namespace

int main(int argc, char** argv) {
  const int n = 64;
  int* out = nullptr;
  if (cudaMalloc(&out, n * sizeof(int)) != cudaSuccess) return 2;
  if (argc > 1 && std::strcmp(argv[1], "global") == 0) {
    JETPINN_LAUNCH(global_overrun_kernel, 1, n + 1, 0, nullptr)(out, n);
  } else if (argc > 1 && std::strcmp(argv[1], "shared") == 0) {
    JETPINN_LAUNCH(shared_overrun_kernel, 1, n, n * sizeof(int), nullptr)(out, n);
  } else {
    std::fprintf(stderr, "usage: %s global|shared\n", argv[0]);
    return 2;
  }
  std::printf("no report: the overrun went unnoticed\n");
  return 0;
}
