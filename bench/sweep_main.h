// main() of the suites with a `--sweep` flag: strips it, registers the benchmarks (the sweep adds the large
// parameter grids), then runs Google Benchmark on the remaining arguments.
#pragma once
#include <benchmark/benchmark.h>

#include <cstring>

namespace jetpinn::bench {

inline int sweep_main(int argc, char** argv, void (*register_all)(bool sweep)) {
  bool sweep = false;
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--sweep") == 0) sweep = true;
    else argv[out++] = argv[i];
  }
  argc = out;
  register_all(sweep);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace jetpinn::bench
