// StepGraph: a CUDA graph of the work a sequence of launchers puts on a Context's stream, captured once and
// replayed with one launch (no per-kernel launch overhead, no host work between kernels). Host-only header (no
// CUDA types; the graph and its executable are opaque pointers, like Context's stream).
// Rules a captured step must follow (a violation fails at end_capture, or silently replays stale values):
//  - no host synchronisation inside: no Context::synchronize(), DeviceTensor upload/download, to_host(), or
//    anything else that waits for the stream (the capture is invalidated);
//  - no cudaMalloc: the pool must be warm (run the step once eagerly first, so every block it asks for is in
//    the pool's cache), and Context::scratch / gemm_scratch / pinned_scalars must not grow afterwards; a block
//    the step frees and reallocates keeps the address baked into the graph, so nothing else may hold it while
//    the graph is alive (allocate the step's buffers before capturing and keep them);
//  - no copies from pageable host memory (they are synchronous): a per-step value (learning rate, step count)
//    lives in device memory or in Context::pinned_scalars and reaches the device through upload_pinned_async,
//    whose source is read at each replay; a scalar passed by value to a launcher (axpy's alpha, a GEMM's
//    alpha with the handle in host pointer mode) is frozen at capture time;
//  - same shapes and pointers every replay: the graph is the launch sequence with its arguments; reset() and
//    capture again when they change.
#pragma once
#include <cstddef>

#include "device_context.h"

namespace jetpinn::cuda {

class StepGraph {
 public:
  StepGraph() = default;
  ~StepGraph();  // frees the graph and its executable; logs, never throws
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // Starts capturing ctx's stream (cudaStreamCaptureModeThreadLocal); drops a previous graph. Launches on the
  // stream until end_capture() are recorded, not run.
  void begin_capture(Context& ctx);
  // Ends the capture and instantiates the graph; throws (naming the call) when the capture was invalidated.
  void end_capture();
  // Replays the graph on the Context's stream (asynchronous, like any launcher).
  void launch();
  bool ready() const { return m_exec != nullptr; }
  bool capturing() const { return m_capturing; }
  void reset();  // drops the graph (waits for the stream first); ready() is false afterwards

 private:
  Context* m_ctx = nullptr;
  void* m_graph = nullptr;  // cudaGraph_t
  void* m_exec = nullptr;   // cudaGraphExec_t
  bool m_capturing = false;
  void destroy() noexcept;
};

// Asynchronous host-to-device copy of `bytes` from pinned host memory (Context::pinned_scalars) on ctx's
// stream: captured, it reads the source at every replay. Throws when `pinned_src` is not page-locked memory.
void upload_pinned_async(Context& ctx, void* device_dst, const void* pinned_src, std::size_t bytes);

}  // namespace jetpinn::cuda
