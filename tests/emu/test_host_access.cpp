// The host touching device memory by pointer (on a GPU an invalid access) ends the process with a line naming
// it; the same bytes through cudaMemcpy are fine. The faulting access runs in a child process.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "cuda_runtime.h"
#include "device_memory.h"

namespace {

struct Outcome {
  bool crashed = false;
  int exit_code = -1;
  std::string stderr_text;
};

// Runs `body` in a child with its stderr captured; the child exits 0 after it.
template <class F>
Outcome in_child(F body) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], 2);
    close(pipe_fds[0]);
    std::signal(SIGSEGV, SIG_DFL);  // not the parent's test framework: the fault ends the child
    body();
    _exit(0);
  }
  close(pipe_fds[1]);
  Outcome o;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) o.stderr_text.append(buf, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  o.crashed = WIFSIGNALED(status);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

}  // namespace

TEST_CASE("emu checks: the host reading or writing device memory by pointer is caught") {
  REQUIRE(jetpinn::emu::device_memory_protected());
  const auto allocate = [] {
    int* p = nullptr;
    if (cudaMalloc(reinterpret_cast<void**>(&p), 64 * sizeof(int)) != cudaSuccess) _exit(3);
    if (cudaMemset(p, 0, 64 * sizeof(int)) != cudaSuccess) _exit(3);
    return p;
  };
  SUBCASE("read") {
    const Outcome o = in_child([&] {
      volatile int* p = allocate();
      std::fprintf(stderr, "value %d\n", p[5]);
    });
    CHECK(o.crashed);
    CHECK(o.stderr_text.find("the host read device memory") != std::string::npos);
    MESSAGE(o.stderr_text);
  }
  SUBCASE("write") {
    const Outcome o = in_child([&] {
      volatile int* p = allocate();
      p[63] = 1;
    });
    CHECK(o.crashed);
    CHECK(o.stderr_text.find("the host wrote device memory") != std::string::npos);
  }
  SUBCASE("fixed: through cudaMemcpy") {
    const Outcome o = in_child([&] {
      int* p = allocate();
      int host[64] = {1};
      if (cudaMemcpy(host, p, sizeof host, cudaMemcpyDeviceToHost) != cudaSuccess || host[0] != 0) _exit(4);
      host[7] = 9;
      if (cudaMemcpy(p, host, sizeof host, cudaMemcpyHostToDevice) != cudaSuccess) _exit(5);
      cudaFree(p);
    });
    CHECK_FALSE(o.crashed);
    CHECK(o.exit_code == 0);
    CHECK(o.stderr_text.find("jetpinn-emu: the host") == std::string::npos);
  }
}
