// doctest entry point for the whole suite; a filter that selects no test case fails (doctest_run.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include "doctest_run.h"

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  return jt_doctest::run_doctest(ctx);
}
