// What the CUDA backend can see of the machine. Host-only header: no CUDA types leak into callers.
#pragma once
#include <string>

namespace jetpinn::cuda {

// Number of usable CUDA devices; 0 with `why` filled when there is no driver or no device.
int device_count(std::string* why = nullptr);
// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for device `index`.
std::string device_name(int index);

}  // namespace jetpinn::cuda
