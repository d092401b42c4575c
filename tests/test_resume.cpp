// Resume bit-identity: a run stopped at step k and resumed reaches exactly the parameters (and optimizer
// state) of an uninterrupted run, on CPU with the same seed, in float64 and float32, through Adam, RBA and
// the switch to L-BFGS.
#include <doctest/doctest.h>

#include <filesystem>

#include "checkpoint.h"
#include "temp_dir.h"
#include "train_command.h"

using namespace jetpinn;

namespace {
TrainArgs tiny_run(const std::string& out, long iters, const std::string& precision, bool lbfgs) {
  TrainArgs a;
  a.problem = "helmholtz";
  a.preset = "quick";
  a.out = out;
  a.iters = iters;
  a.iters_given = true;
  a.precision = precision;
  a.quiet = true;
  a.sets = {"net.depth=2", "net.width=8", "points.collocation=64", "train.eval_every=0", "train.checkpoint_every=7",
            "loss.rba.enabled=true", "net.hard_bc=false", "points.boundary=16"};
  if (lbfgs) a.sets.push_back("optim.lbfgs_from=20");
  return a;
}
}  // namespace

TEST_CASE("train: a resumed run is bit-identical to an uninterrupted one") {
  for (const std::string precision : {"f64", "f32"})
    for (const bool lbfgs : {false, true}) {
      CAPTURE(precision);
      CAPTURE(lbfgs);
      TempDir dir("resume");
      const std::string whole = (dir.path / "whole").string(), split = (dir.path / "split").string();
      REQUIRE(run_train(tiny_run(whole, 30, precision, lbfgs)) == 0);
      REQUIRE(run_train(tiny_run(split, lbfgs ? 24 : 17, precision, lbfgs)) == 0);
      TrainArgs resume;
      resume.resume = split;
      resume.iters = 30;
      resume.iters_given = true;
      resume.quiet = true;
      REQUIRE(run_train(resume) == 0);
      const Checkpoint a = Checkpoint::read(whole + "/checkpoint", "helmholtz");
      const Checkpoint b = Checkpoint::read(split + "/checkpoint", "helmholtz");
      for (const char* entry : {"params", "adam.m", "adam.v", "term.residual.lambda"}) {
        CAPTURE(entry);
        if (precision == "f64") CHECK(a.get<double>(entry) == b.get<double>(entry));
        else CHECK(a.get<float>(entry) == b.get<float>(entry));
      }
      CHECK(a.get<std::int64_t>("step") == b.get<std::int64_t>("step"));
      CHECK(a.has("lbfgs.counts") == lbfgs);
      if (lbfgs && precision == "f64") CHECK(a.get<double>("lbfgs.s") == b.get<double>("lbfgs.s"));
    }
}
