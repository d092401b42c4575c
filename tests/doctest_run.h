// run_doctest(): doctest's run, failing when a filter selects no test case. ctest runs each TEST_CASE with
// --test-case=NAME (doctest_discover_tests); a name that the discovery mangles (a ';' splits it in two) would
// otherwise select nothing and pass without running anything.
#pragma once
#include <doctest/doctest.h>

#include <cstdio>

namespace jt_doctest {

inline int& selected_test_cases() {
  static int n = -1;
  return n;
}

// Records how many test cases passed the filters; reports nothing else.
struct SelectedCount : doctest::IReporter {
  explicit SelectedCount(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    selected_test_cases() = static_cast<int>(s.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
DOCTEST_REGISTER_LISTENER("selected_count", 1, SelectedCount);

inline int run_doctest(doctest::Context& ctx) {
  const int rc = ctx.run();
  if (ctx.shouldExit() || rc != 0) return rc;  // --list-test-cases, --help, or failures
  if (selected_test_cases() == 0) {
    std::fprintf(stderr, "FAIL: no test case matches the filter (a test name with ';' is split by ctest)\n");
    return 1;
  }
  return 0;
}

}  // namespace jt_doctest
