// The CUDA backend sees the device it runs on.
#include <doctest/doctest.h>

#include "cuda_device.h"

TEST_CASE("cuda: a device is visible and named") {
  std::string why;
  REQUIRE(jetpinn::cuda::device_count(&why) >= 1);
  CHECK(jetpinn::cuda::device_name(0).find("sm_") != std::string::npos);
}
