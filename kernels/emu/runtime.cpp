// The emulated device's runtime API (cuda_runtime.h): one sm_90 device with H100-like properties, device
// memory that only the device's own work may touch (device_memory.h), streams that execute their work
// at once in issue order, stream capture into graphs replayed by cudaGraphLaunch, and the capture rules,
// error codes and sticky launch failures of the real runtime. Findings (emu.h) are kept here.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "device_memory.h"
#include "emu.h"
#include "scheduler.h"

struct EmuGraph {
  struct Node {
    std::function<void()> work;
    const char* what;
  };
  std::vector<Node> nodes;
};
struct EmuGraphExec {
  std::vector<EmuGraph::Node> nodes;
};
struct EmuStream {
  bool capturing = false;
  bool invalidated = false;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id capture_thread;
  EmuGraph* graph = nullptr;
};
struct EmuEvent {
  std::chrono::steady_clock::time_point when{};
  bool recorded = false;
};

namespace jetpinn::emu {
namespace {

std::recursive_mutex g_mutex;  // guards everything below; the emulated device itself runs on the calling thread
std::map<const unsigned char*, std::size_t> g_device;  // live cudaMalloc allocations: begin -> bytes
std::map<const unsigned char*, std::size_t> g_pinned;  // live cudaHostAlloc allocations
std::vector<DeviceRange> g_device_sorted;              // g_device as the kernels' bounds check reads it

void index_device_memory() {
  g_device_sorted.clear();
  for (const auto& [b, n] : g_device) g_device_sorted.push_back({b, n});
}
std::set<const void*> g_streams, g_graphs, g_execs, g_events;
std::vector<std::string> g_findings;
std::size_t g_findings_total = 0;
cudaError_t g_last_error = cudaSuccess;    // what cudaGetLastError returns and clears
cudaError_t g_sticky_error = cudaSuccess;  // a failed launch: every call returns it until take_findings()
int g_active_captures = 0;                 // captures in Global mode or ThreadLocal on this thread
thread_local int t_thread_captures = 0;

constexpr std::size_t MAX_PRINTED_FINDINGS = 20;

void check_findings_at_exit() {
  std::lock_guard lock(g_mutex);
  if (g_findings.empty()) return;
  std::fprintf(stderr, "jetpinn-emu: %zu finding(s) of the emulated device were never taken; failing the process\n",
               g_findings.size());
  std::fflush(stderr);
  std::_Exit(1);
}

cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}

// A call the capture rules forbid while this thread (ThreadLocal) or any thread (Global) captures: it fails
// with cudaErrorStreamCaptureUnsupported and invalidates the open captures, as the runtime does.
bool forbidden_during_capture() {
  if (t_thread_captures == 0 && g_active_captures == 0) return false;
  for (const void* p : g_streams) {
    auto* s = static_cast<EmuStream*>(const_cast<void*>(p));
    if (s->capturing) s->invalidated = true;
  }
  return true;
}

bool in_table(const std::map<const unsigned char*, std::size_t>& table, const void* p, std::size_t bytes) {
  const auto* b = static_cast<const unsigned char*>(p);
  auto it = table.upper_bound(b);
  if (it == table.begin()) return false;
  --it;
  return b >= it->first && b + bytes <= it->first + it->second;
}

std::string pointer_text(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

const cudaDeviceProp& properties() {
  static const cudaDeviceProp props = [] {
    cudaDeviceProp p{};
    std::snprintf(p.name, sizeof p.name, "jetpinn emulated device (CPU, not a GPU)");
    p.totalGlobalMem = std::size_t(80) << 30;
    p.sharedMemPerBlock = 48 * 1024;
    p.sharedMemPerBlockOptin = 227 * 1024;
    p.regsPerBlock = 65536;
    p.warpSize = 32;
    p.maxThreadsPerBlock = 1024;
    p.maxThreadsDim[0] = 1024, p.maxThreadsDim[1] = 1024, p.maxThreadsDim[2] = 64;
    p.maxGridSize[0] = 2147483647, p.maxGridSize[1] = 65535, p.maxGridSize[2] = 65535;
    p.clockRate = 1980000;
    p.major = 9, p.minor = 0;
    p.multiProcessorCount = 132;
    return p;
  }();
  return props;
}

EmuStream g_dead_stream;  // what live_stream returns for a destroyed stream
EmuStream* const DEAD = &g_dead_stream;
EmuStream* live_stream(cudaStream_t s, const char* call) {
  if (s == nullptr) return nullptr;
  if (!g_streams.count(s)) {
    report(std::string(call) + ": stream " + pointer_text(s) + " was destroyed or never created");
    return DEAD;
  }
  return s;
}

// Stream-ordered copy, with the pointers checked against the direction.
cudaError_t copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t s, bool async,
                 const char* call) {
  std::lock_guard lock(g_mutex);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  if (bytes == 0) return cudaSuccess;
  const bool dst_dev = in_table(g_device, dst, bytes), src_dev = in_table(g_device, src, bytes);
  const bool dst_pinned = in_table(g_pinned, dst, bytes), src_pinned = in_table(g_pinned, src, bytes);
  if (kind == cudaMemcpyDefault)
    kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                   : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (want_dst_dev != dst_dev || want_src_dev != src_dev) {
    report(std::string(call) + ": " + std::to_string(bytes) + " bytes from " + pointer_text(src) + " to " +
           pointer_text(dst) + ": " + (want_dst_dev && !dst_dev ? "the destination is not inside one device allocation"
                                       : want_src_dev && !src_dev ? "the source is not inside one device allocation"
                                                                  : "a host pointer is device memory (wrong direction)"));
    return set_error(cudaErrorInvalidValue);
  }
  EmuStream* st = live_stream(s, call);
  if (st == DEAD) return set_error(cudaErrorInvalidResourceHandle);
  const bool host_side_pageable = (kind == cudaMemcpyHostToDevice && !src_pinned) ||
                                  (kind == cudaMemcpyDeviceToHost && !dst_pinned) || kind == cudaMemcpyHostToHost;
  if (!async || st == nullptr) {
    // Synchronous (or legacy-stream) copies are unsafe during capture.
    if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  } else if (st->capturing && host_side_pageable) {
    st->invalidated = true;  // a graph's memcpy node cannot take pageable host memory
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  return set_error(enqueue(s, [dst, src, bytes] { std::memcpy(dst, src, bytes); }, call));
}

}  // namespace

void report(const std::string& message) {
  std::lock_guard lock(g_mutex);
  static const bool registered = [] { return std::atexit(check_findings_at_exit) == 0; }();
  (void)registered;
  if (g_findings.size() < 10000) g_findings.push_back(message);
  if (++g_findings_total <= MAX_PRINTED_FINDINGS) std::fprintf(stderr, "jetpinn-emu: %s\n", message.c_str());
  else if (g_findings_total == MAX_PRINTED_FINDINGS + 1) std::fprintf(stderr, "jetpinn-emu: (more findings not printed)\n");
}

std::vector<std::string> take_findings() {
  std::lock_guard lock(g_mutex);
  std::vector<std::string> out;
  out.swap(g_findings);
  g_findings_total = 0;
  g_sticky_error = cudaSuccess;
  g_last_error = cudaSuccess;
  return out;
}

std::size_t finding_count() {
  std::lock_guard lock(g_mutex);
  return g_findings.size();
}

bool is_device_range(const void* p, std::size_t bytes) {
  std::lock_guard lock(g_mutex);
  return in_table(g_device, p, bytes);
}

bool stream_alive(cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  return s == nullptr || g_streams.count(s) != 0;
}

void announce() {
  static const bool once = [] {
    std::fprintf(stderr,
                 "jetpinn: CUDA calls run on the emulated device (-DJETPINN_CUDA=EMULATE): kernels execute on the CPU "
                 "under checks; this is not a GPU, and no timing taken on it means anything\n");
    return true;
  }();
  (void)once;
}

cudaError_t enqueue(cudaStream_t s, std::function<void()> work, const char* what) {
  std::lock_guard lock(g_mutex);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  EmuStream* st = live_stream(s, what);
  if (st == DEAD) return cudaErrorInvalidResourceHandle;
  if (st == nullptr && (t_thread_captures > 0 || g_active_captures > 0)) {
    // The legacy stream synchronises with every stream, a capturing one too.
    forbidden_during_capture();
    return cudaErrorStreamCaptureImplicit;
  }
  if (st && st->capturing) {
    if (st->invalidated) return cudaErrorStreamCaptureInvalidated;
    st->graph->nodes.push_back({std::move(work), what});
    return cudaSuccess;
  }
  const std::size_t before = g_findings_total;
  {
    DeviceWork open;  // device memory is host-accessible only while the device works
    work();
  }
  if (g_findings_total != before) g_sticky_error = cudaErrorLaunchFailure;  // as a trapped kernel leaves it
  return g_sticky_error;
}

const std::vector<DeviceRange>& device_ranges() { return g_device_sorted; }

// Shared with launch checks (scheduler.cpp): a launch error that cudaGetLastError reports.
cudaError_t record_launch_error(cudaError_t e) {
  std::lock_guard lock(g_mutex);
  return set_error(e);
}
int max_dynamic_shared_attribute(const void* func);

namespace {
std::map<const void*, int> g_func_max_dynamic_shared;
}
int max_dynamic_shared_attribute(const void* func) {
  std::lock_guard lock(g_mutex);
  auto it = g_func_max_dynamic_shared.find(func);
  return it == g_func_max_dynamic_shared.end() ? 48 * 1024 : it->second;
}

}  // namespace jetpinn::emu

using namespace jetpinn::emu;

cudaError_t emu_func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
  std::lock_guard lock(g_mutex);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return set_error(cudaErrorInvalidValue);
  if (value < 0 || static_cast<std::size_t>(value) > properties().sharedMemPerBlockOptin) return set_error(cudaErrorInvalidValue);
  g_func_max_dynamic_shared[func] = value;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  announce();
  if (!count) return set_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  announce();
  return device == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return set_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return set_error(cudaErrorInvalidValue);
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  *prop = properties();
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return set_error(cudaErrorInvalidValue);
  if (device != 0) return set_error(cudaErrorInvalidDevice);
  const cudaDeviceProp& p = properties();
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = p.maxThreadsPerBlock; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(p.sharedMemPerBlock); break;
    case cudaDevAttrClockRate: *value = p.clockRate; break;
    case cudaDevAttrMultiProcessorCount: *value = p.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = p.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = p.minor; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(p.sharedMemPerBlockOptin); break;
    default: return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  std::lock_guard lock(g_mutex);
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  return g_sticky_error;
}
cudaError_t cudaGetLastError() {
  std::lock_guard lock(g_mutex);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  const cudaError_t e = g_last_error;
  g_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() {
  std::lock_guard lock(g_mutex);
  return g_sticky_error != cudaSuccess ? g_sticky_error : g_last_error;
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
#define JETPINN_EMU_NAME(x) \
  case x: return #x;
    JETPINN_EMU_NAME(cudaSuccess)
    JETPINN_EMU_NAME(cudaErrorInvalidValue)
    JETPINN_EMU_NAME(cudaErrorMemoryAllocation)
    JETPINN_EMU_NAME(cudaErrorInvalidConfiguration)
    JETPINN_EMU_NAME(cudaErrorInvalidDevicePointer)
    JETPINN_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    JETPINN_EMU_NAME(cudaErrorNoDevice)
    JETPINN_EMU_NAME(cudaErrorInvalidDevice)
    JETPINN_EMU_NAME(cudaErrorInvalidResourceHandle)
    JETPINN_EMU_NAME(cudaErrorIllegalState)
    JETPINN_EMU_NAME(cudaErrorNotReady)
    JETPINN_EMU_NAME(cudaErrorIllegalAddress)
    JETPINN_EMU_NAME(cudaErrorLaunchOutOfResources)
    JETPINN_EMU_NAME(cudaErrorLaunchFailure)
    JETPINN_EMU_NAME(cudaErrorStreamCaptureUnsupported)
    JETPINN_EMU_NAME(cudaErrorStreamCaptureInvalidated)
    JETPINN_EMU_NAME(cudaErrorStreamCaptureUnmatched)
    JETPINN_EMU_NAME(cudaErrorStreamCaptureImplicit)
    JETPINN_EMU_NAME(cudaErrorStreamCaptureWrongThread)
#undef JETPINN_EMU_NAME
  }
  return "cudaErrorUnknown";
}
const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure (emulated device: see the jetpinn-emu findings)";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
  }
  return "unknown error";
}

cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  std::lock_guard lock(g_mutex);
  announce();
  if (!p) return set_error(cudaErrorInvalidValue);
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (bytes > properties().totalGlobalMem) return set_error(cudaErrorMemoryAllocation);  // more than the device has
  // With DEVICE_GUARD_BYTES on both sides for the kernels' bounds check (device_memory.h).
  auto* begin = static_cast<unsigned char*>(device_allocate(bytes));
  if (!begin) return set_error(cudaErrorMemoryAllocation);
  g_device[begin] = bytes;
  index_device_memory();
  *p = begin;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard lock(g_mutex);
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  if (!p) return cudaSuccess;
  auto it = g_device.find(static_cast<const unsigned char*>(p));
  if (it == g_device.end()) {
    report("cudaFree(" + pointer_text(p) + "): not a live device allocation (freed twice, or never allocated)");
    return set_error(cudaErrorInvalidValue);
  }
  const std::size_t bytes = it->second;
  g_device.erase(it);
  index_device_memory();
  device_release(p, bytes);
  return g_sticky_error;
}
cudaError_t cudaHostAlloc(void** p, std::size_t bytes, unsigned flags) {
  std::lock_guard lock(g_mutex);
  if (!p || flags != cudaHostAllocDefault) return set_error(cudaErrorInvalidValue);
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  void* q = nullptr;
  if (posix_memalign(&q, 4096, std::max<std::size_t>(bytes, 1)) != 0) return set_error(cudaErrorMemoryAllocation);
  g_pinned[static_cast<const unsigned char*>(q)] = std::max<std::size_t>(bytes, 1);
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** p, std::size_t bytes) { return cudaHostAlloc(p, bytes, cudaHostAllocDefault); }
cudaError_t cudaFreeHost(void* p) {
  std::lock_guard lock(g_mutex);
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  if (!p) return cudaSuccess;
  auto it = g_pinned.find(static_cast<const unsigned char*>(p));
  if (it == g_pinned.end()) {
    report("cudaFreeHost(" + pointer_text(p) + "): not live pinned host memory");
    return set_error(cudaErrorInvalidValue);
  }
  g_pinned.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
  std::lock_guard lock(g_mutex);
  if (!attr) return set_error(cudaErrorInvalidValue);
  *attr = cudaPointerAttributes{};
  if (in_table(g_device, p, 1)) {
    attr->type = cudaMemoryTypeDevice;
    attr->devicePointer = const_cast<void*>(p);
  } else if (in_table(g_pinned, p, 1)) {
    attr->type = cudaMemoryTypeHost;
    attr->devicePointer = attr->hostPointer = const_cast<void*>(p);
  }
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  return copy(dst, src, bytes, kind, nullptr, false, "cudaMemcpy");
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  return copy(dst, src, bytes, kind, s, true, "cudaMemcpyAsync");
}
cudaError_t cudaMemcpy2DAsync(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
                              std::size_t height, cudaMemcpyKind kind, cudaStream_t s) {
  if (width > dpitch || width > spitch) return set_error(cudaErrorInvalidValue);
  if (height == 0 || width == 0) return cudaSuccess;
  // Each row is its own checked copy; the extents are checked first so nothing is half-done.
  const std::size_t dext = dpitch * (height - 1) + width, sext = spitch * (height - 1) + width;
  {
    std::lock_guard lock(g_mutex);
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((dst_dev && !in_table(g_device, dst, dext)) || (src_dev && !in_table(g_device, src, sext))) {
      report("cudaMemcpy2DAsync: a " + std::to_string(height) + " x " + std::to_string(width) +
             "-byte copy reaches past its device allocation");
      return set_error(cudaErrorInvalidValue);
    }
  }
  for (std::size_t r = 0; r < height; ++r) {
    const cudaError_t e = copy(static_cast<unsigned char*>(dst) + r * dpitch,
                               static_cast<const unsigned char*>(src) + r * spitch, width, kind, s, true,
                               "cudaMemcpy2DAsync");
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  if (bytes == 0) return g_sticky_error;
  if (!in_table(g_device, p, bytes)) {
    report("cudaMemsetAsync: " + std::to_string(bytes) + " bytes at " + pointer_text(p) +
           " are not inside one device allocation");
    return set_error(cudaErrorInvalidValue);
  }
  return set_error(enqueue(s, [p, value, bytes] { std::memset(p, value, bytes); }, "cudaMemsetAsync"));
}
cudaError_t cudaMemset(void* p, int value, std::size_t bytes) {
  {
    std::lock_guard lock(g_mutex);
    if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  }
  return cudaMemsetAsync(p, value, bytes, nullptr);
}

cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  std::lock_guard lock(g_mutex);
  if (!s || flags > cudaStreamNonBlocking) return set_error(cudaErrorInvalidValue);
  *s = new EmuStream;
  g_streams.insert(*s);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  if (live_stream(s, "cudaStreamDestroy") == DEAD || s == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capturing) {
    report("cudaStreamDestroy: the stream is capturing (end the capture first)");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  g_streams.erase(s);
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  EmuStream* st = live_stream(s, "cudaStreamSynchronize");
  if (st == DEAD) return set_error(cudaErrorInvalidResourceHandle);
  if ((st && st->capturing) || (st == nullptr && forbidden_during_capture())) {
    if (st) st->invalidated = true;
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  return g_sticky_error;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
  std::lock_guard lock(g_mutex);
  EmuStream* st = live_stream(s, "cudaStreamBeginCapture");
  if (st == DEAD) return set_error(cudaErrorInvalidResourceHandle);
  if (st == nullptr) return set_error(cudaErrorStreamCaptureUnsupported);  // never on the legacy stream
  if (st->capturing) return set_error(cudaErrorIllegalState);
  if (g_sticky_error != cudaSuccess) return g_sticky_error;
  st->capturing = true;
  st->invalidated = false;
  st->mode = mode;
  st->capture_thread = std::this_thread::get_id();
  st->graph = new EmuGraph;
  if (mode == cudaStreamCaptureModeThreadLocal) ++t_thread_captures;
  if (mode == cudaStreamCaptureModeGlobal) ++g_active_captures;
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph) {
  std::lock_guard lock(g_mutex);
  EmuStream* st = live_stream(s, "cudaStreamEndCapture");
  if (st == DEAD) return set_error(cudaErrorInvalidResourceHandle);
  if (!graph) return set_error(cudaErrorInvalidValue);
  *graph = nullptr;
  if (st == nullptr || !st->capturing) return set_error(cudaErrorIllegalState);
  if (st->mode != cudaStreamCaptureModeRelaxed && st->capture_thread != std::this_thread::get_id())
    return set_error(cudaErrorStreamCaptureWrongThread);
  st->capturing = false;
  if (st->mode == cudaStreamCaptureModeThreadLocal) --t_thread_captures;
  if (st->mode == cudaStreamCaptureModeGlobal) --g_active_captures;
  EmuGraph* g = st->graph;
  st->graph = nullptr;
  if (st->invalidated) {
    delete g;
    return set_error(cudaErrorStreamCaptureInvalidated);
  }
  g_graphs.insert(g);
  *graph = g;
  return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus* status) {
  std::lock_guard lock(g_mutex);
  EmuStream* st = live_stream(s, "cudaStreamIsCapturing");
  if (st == DEAD) return set_error(cudaErrorInvalidResourceHandle);
  if (!status) return set_error(cudaErrorInvalidValue);
  *status = !st || !st->capturing ? cudaStreamCaptureStatusNone
            : st->invalidated     ? cudaStreamCaptureStatusInvalidated
                                  : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  std::lock_guard lock(g_mutex);
  if (!exec || !g_graphs.count(graph)) {
    if (exec) report("cudaGraphInstantiate: graph " + pointer_text(graph) + " was destroyed or never made");
    return set_error(cudaErrorInvalidValue);
  }
  *exec = new EmuGraphExec{graph->nodes};
  g_execs.insert(*exec);
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
  std::vector<EmuGraph::Node> nodes;
  {
    std::lock_guard lock(g_mutex);
    if (!g_execs.count(exec)) {
      report("cudaGraphLaunch: executable graph " + pointer_text(exec) + " was destroyed or never instantiated");
      return set_error(cudaErrorInvalidResourceHandle);
    }
    nodes = exec->nodes;
  }
  // The nodes run in capture order: one stream was captured, so its order is the graph's dependency chain.
  return set_error(enqueue(
      s,
      [nodes = std::move(nodes)] {
        for (const auto& n : nodes) {
          if (g_sticky_error != cudaSuccess) return;
          const std::size_t before = g_findings_total;
          n.work();
          if (g_findings_total != before) g_sticky_error = cudaErrorLaunchFailure;
        }
      },
      "cudaGraphLaunch"));
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard lock(g_mutex);
  if (!g_graphs.erase(graph)) {
    report("cudaGraphDestroy: graph " + pointer_text(graph) + " was destroyed already or never made");
    return set_error(cudaErrorInvalidValue);
  }
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard lock(g_mutex);
  if (!g_execs.erase(exec)) {
    report("cudaGraphExecDestroy: executable graph " + pointer_text(exec) + " was destroyed already or never made");
    return set_error(cudaErrorInvalidValue);
  }
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* e) {
  std::lock_guard lock(g_mutex);
  if (!e) return set_error(cudaErrorInvalidValue);
  *e = new EmuEvent;
  g_events.insert(*e);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  std::lock_guard lock(g_mutex);
  if (!g_events.erase(e)) {
    report("cudaEventDestroy: event " + pointer_text(e) + " was destroyed already or never made");
    return set_error(cudaErrorInvalidResourceHandle);
  }
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  std::lock_guard lock(g_mutex);
  if (!g_events.count(e)) {
    report("cudaEventRecord: event " + pointer_text(e) + " was destroyed or never made");
    return set_error(cudaErrorInvalidResourceHandle);
  }
  return set_error(enqueue(s, [e] { e->when = std::chrono::steady_clock::now(), e->recorded = true; }, "cudaEventRecord"));
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  std::lock_guard lock(g_mutex);
  if (!g_events.count(e)) {
    report("cudaEventSynchronize: event " + pointer_text(e) + " was destroyed or never made");
    return set_error(cudaErrorInvalidResourceHandle);
  }
  if (forbidden_during_capture()) return set_error(cudaErrorStreamCaptureUnsupported);
  return g_sticky_error;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard lock(g_mutex);
  if (!ms || !g_events.count(start) || !g_events.count(end)) return set_error(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return set_error(cudaErrorInvalidResourceHandle);
  // Host time of the emulation: it says nothing of a GPU (callers on the emulated device print no timings).
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
