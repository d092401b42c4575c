// The CUDA backend sees the devices it runs on: device_count() is exactly the set of indices a Context can open
// (cuda_device.h), each named as documented. This binary only runs with at least one device (main.cpp exits 77
// otherwise), so "at least one" would prove nothing; what can go wrong is the count disagreeing with the
// devices, `why` filled on success, or a name not in the documented form.
#include <doctest/doctest.h>

#include <regex>

#include "cuda_device.h"
#include "device_context.h"

TEST_CASE("cuda: device_count() is the number of devices a Context opens, each named as documented") {
  std::string why = "untouched";
  const int n = jetpinn::cuda::device_count(&why);
  CHECK(why == "untouched");  // filled only when there is no device (cuda_device.h)
  CHECK(jetpinn::cuda::device_count() == n);
  // "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)": a name, the compute capability, a positive memory size.
  const std::regex form(R"(.+ \(sm_[1-9][0-9]+, ([0-9]+\.[0-9]) GiB\))");
  for (int i = 0; i < n; ++i) {
    CAPTURE(i);
    const std::string name = jetpinn::cuda::device_name(i);
    MESSAGE("device " << i << ": " << name);
    std::smatch m;
    CHECK_MESSAGE(std::regex_match(name, m, form), name);
    if (!m.empty()) CHECK(std::stod(m[1].str()) > 0.0);
    CHECK_NOTHROW(jetpinn::cuda::Context{i});
  }
  // The first index past the count is no device: no Context. (Not device_name(n): it leaves the runtime's
  // cudaErrorInvalidDevice pending, which the next launch's cudaGetLastError check would report as its own.)
  CHECK_THROWS_AS(jetpinn::cuda::Context{n}, jetpinn::Error);
}
