// StepGraph (see step_graph.h): stream capture, instantiate, launch.
#include <cstdio>

#include "cuda_check.h"
#include "step_graph.h"

namespace jetpinn::cuda {

namespace {
cudaStream_t stream_of(Context& ctx) { return static_cast<cudaStream_t>(ctx.stream()); }
}  // namespace

StepGraph::~StepGraph() {
  if (m_capturing && m_ctx) {  // abandon an open capture so the stream is usable again
    cudaGraph_t g = nullptr;
    cudaStreamEndCapture(stream_of(*m_ctx), &g);
    if (g) cudaGraphDestroy(g);
    cudaGetLastError();
    m_capturing = false;
  }
  destroy();
}

void StepGraph::destroy() noexcept {
  if (m_exec) {
    const cudaError_t e = cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(m_exec));
    if (e != cudaSuccess) std::fprintf(stderr, "jetpinn: cudaGraphExecDestroy failed: %s\n", cudaGetErrorString(e));
    m_exec = nullptr;
  }
  if (m_graph) {
    const cudaError_t e = cudaGraphDestroy(static_cast<cudaGraph_t>(m_graph));
    if (e != cudaSuccess) std::fprintf(stderr, "jetpinn: cudaGraphDestroy failed: %s\n", cudaGetErrorString(e));
    m_graph = nullptr;
  }
}

void StepGraph::reset() {
  JETPINN_CHECK(!m_capturing, "StepGraph::reset during a capture; call end_capture() first");
  if (m_ctx && m_exec) m_ctx->synchronize();  // a replay in flight still uses the executable
  destroy();
}

void StepGraph::begin_capture(Context& ctx) {
  JETPINN_CHECK(!m_capturing, "StepGraph::begin_capture: a capture is already open; call end_capture() first");
  if (m_ctx) reset();
  m_ctx = &ctx;
  CUDA_CHECK(cudaStreamBeginCapture(stream_of(ctx), cudaStreamCaptureModeThreadLocal));
  m_capturing = true;
}

void StepGraph::end_capture() {
  JETPINN_CHECK(m_capturing, "StepGraph::end_capture without begin_capture");
  m_capturing = false;
  cudaGraph_t g = nullptr;
  const cudaError_t e = cudaStreamEndCapture(stream_of(*m_ctx), &g);
  if (e != cudaSuccess) {
    if (g) cudaGraphDestroy(g);
    detail::cuda_fail(e, "cudaStreamEndCapture (a captured step must not synchronise, allocate with cudaMalloc or "
                         "copy from pageable host memory; see step_graph.h)", __FILE__, __LINE__);
  }
  m_graph = g;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
  m_exec = exec;
}

void StepGraph::launch() {
  JETPINN_CHECK(ready(), "StepGraph::launch before a capture was completed (begin_capture, the step, end_capture)");
  CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(m_exec), stream_of(*m_ctx)));
}

void upload_pinned_async(Context& ctx, void* device_dst, const void* pinned_src, std::size_t bytes) {
  cudaPointerAttributes attr{};
  CUDA_CHECK(cudaPointerGetAttributes(&attr, pinned_src));
  JETPINN_CHECK(attr.type == cudaMemoryTypeHost,
                "upload_pinned_async: the source is not page-locked host memory; use Context::pinned_scalars");
  CUDA_CHECK(cudaMemcpyAsync(device_dst, pinned_src, bytes, cudaMemcpyHostToDevice, stream_of(ctx)));
}

}  // namespace jetpinn::cuda
