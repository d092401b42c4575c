// Bad shapes and bad configurations raise jetpinn::Error with a message that names what went wrong.
#include <doctest/doctest.h>

#include "test_problems.h"

using namespace jetpinn;
using jt::Mat;

namespace {

using V = Var<double>;

// Runs f, expects a jetpinn::Error whose message contains every one of `words`.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> words) {
  std::string msg;
  bool thrown = false;
  try {
    f();
  } catch (const Error& e) {
    thrown = true;
    msg = e.what();
  }
  CHECK_MESSAGE(thrown, "expected a jetpinn::Error containing '" << *words.begin() << "'");
  for (const char* w : words) CHECK_MESSAGE(msg.find(w) != std::string::npos, "'" << w << "' not in: " << msg);
}

Mat pts(Index n, Index d) { return Mat::Constant(n, d, 0.25); }

}  // namespace

TEST_CASE("core: errors: mismatched shapes name both shapes") {
  Tape<double> t;
  V a = t.constant(pts(3, 1)), b = t.constant(pts(4, 1)), c = t.constant(pts(3, 2));
  CHECK_THROWS_WITH_AS(t.add(a, b), doctest::Contains("add: shape mismatch (3 x 1) vs (4 x 1)"), Error);
  expect_error([&] { a - c; }, {"sub", "(3 x 1)", "(3 x 2)"});
  expect_error([&] { a * b; }, {"mul", "(3 x 1)", "(4 x 1)"});
  expect_error([&] { concat_cols(a, b); }, {"concat", "(3 x 1)", "(4 x 1)"});
  expect_error([&] { a.col(1); }, {"column slice", "out of range", "(3 x 1)"});
  expect_error([&] { t.slice_cols(c, 1, 1); }, {"column slice [1, 1)"});
  // An affine layer whose weight does not fit the input's columns.
  ParamStore<double> ps;
  const int w = ps.add("W", 4, 3, false), bias = ps.add("b", 1, 5, true);
  Tape<double> tp(&ps);
  V x = tp.input(pts(3, 2), StreamSet::make({"x", "y"}, {"x"}));
  expect_error([&] { tp.affine(x, w, -1); }, {"affine layer 'W'", "(4 x 3)", "3 input columns", "(6 x 2)"});
  V x3 = tp.input(pts(3, 3), StreamSet::value_only());
  expect_error([&] { tp.affine(x3, w, bias); }, {"bias 'b'", "5 entries", "4 outputs"});
  expect_error([&] { Tape<double> np; V v = np.constant(pts(2, 4)); np.affine(v, w, -1); }, {"without a ParamStore"});
  expect_error([&] { ps.add("Z", 0, 3, false); }, {"parameter 'Z'", "positive shape", "(0 x 3)"});
}

TEST_CASE("core: errors: ops between jets of different stream sets") {
  Tape<double> t;
  auto s1 = StreamSet::make({"x", "y"}, {"xx"});
  auto s2 = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
  V a = t.input(pts(3, 2), s1), b = t.input(pts(3, 2), s2);
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("add: operands carry different jet streams"), Error);
  expect_error([&] { a * b; }, {"mul", "different jet streams", "u_xx", "u_lap"});
  expect_error([&] { a - b; }, {"sub", "different jet streams"});
  expect_error([&] { concat_cols(a, b); }, {"concat", "different jet streams"});
  // A jet against a plain tensor is also a stream mismatch.
  V c = t.constant(pts(3, 2));
  expect_error([&] { a + c; }, {"different jet streams"});
  // Two equal but separately made sets are different sets: a problem makes its set once.
  auto s1b = StreamSet::make({"x", "y"}, {"xx"});
  V d = t.input(pts(3, 2), s1b);
  expect_error([&] { a + d; }, {"different jet streams"});
}

TEST_CASE("core: errors: unknown derivative names and requests") {
  Tape<double> t;
  auto ss = StreamSet::make({"x", "y"}, {"xx", "y"});
  V u = t.input(pts(3, 2), ss);
  CHECK_THROWS_WITH_AS(u.d("xy"), doctest::Contains("derivative 'xy' is not among this jet's streams"), Error);
  expect_error([&] { u.d("yy"); }, {"'yy'", "u, u_x, u_y, u_xx"});
  expect_error([&] { u.d("z"); }, {"'z'", "not among"});
  expect_error([&] { u.d("lap"); }, {"'lap'", "not among"});
  expect_error([&] { u.d("xx").d("x"); }, {"'x'", "not among"});  // a plain tensor has only its value
  expect_error([&] { t.component(u, 7); }, {"stream 7 out of range"});
  // Requests when a set is made.
  CHECK_THROWS_WITH_AS(StreamSet::make({"x", "y"}, {"xxxx"}), doctest::Contains("derivative 'xxxx' must be of order 1 to 3"),
                       Error);
  expect_error([] { StreamSet::make({"t", "x"}, {"txxx"}); }, {"'txxx'", "order 1 to 3"});
  expect_error([] { StreamSet::make({"x1", "x2"}, {"x1,x1,x2,x2"}); }, {"order 1 to 3"});
  expect_error([] { StreamSet::make({"x", "y"}, {"xz"}); }, {"unknown input 'z'", "derivative 'xz'"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap"}); }, {"'lap' stream needs laplacian_inputs"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap_xy"}, {"x", "y"}); }, {"'lap_xy'", "one input"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap"}, {"x", "q"}); }, {"unknown input 'q'"});
  expect_error([] { StreamSet::make({"x", "x"}, {"x"}); }, {"input name 'x' given twice"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap"}, {"x", "x"}); }, {"laplacian_inputs", "'x' is given twice"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap"}, {"xy"}); }, {"laplacian_inputs", "'xy'", "exactly one input"});
  expect_error([] { StreamSet::make({"x", "y"}, {"lap"}, {""}); }, {"laplacian_inputs", "exactly one input"});
  expect_error([] { StreamSet::make({"x1", "x2"}, {"lap"}, {"x1", "x3"}); }, {"unknown input"});
}

TEST_CASE("core: errors: reductions and backward need plain tensors and scalars") {
  ParamStore<double> ps;
  const int w = ps.add("W", 1, 2, false);
  ps.value(w).setOnes();
  Tape<double> t(&ps);
  auto ss = StreamSet::make({"x", "y"}, {"xx"});
  V u = t.affine(t.input(pts(3, 2), ss), w, -1);
  CHECK_THROWS_WITH_AS(sum(u), doctest::Contains("sum takes a plain tensor"), Error);
  expect_error([&] { mean(u); }, {"mean takes a plain tensor", "u_xx", "u.d(\"xx\")"});
  V plain = u.d("xx");
  CHECK_THROWS_WITH_AS(t.backward(plain), doctest::Contains("backward needs a 1 x 1 loss, got (3 x 1)"), Error);
  expect_error([&] { t.backward(u); }, {"1 x 1 loss", "(9 x 1)"});
  expect_error([&] { t.backward(V(&t, 99)); }, {"does not belong to this recording"});
  V l = mean(plain * plain);
  t.backward(l);  // fine
  Tape<double> empty;
  expect_error([&] { mean(empty.constant(Mat(0, 1))); }, {"mean of an empty tensor"});
}

TEST_CASE("core: errors: network configurations, activations and input columns") {
  auto cfg = [] {
    MlpConfig c;
    c.inputs = 2;
    c.depth = 2;
    c.width = 4;
    return c;
  };
  {
    MlpConfig c = cfg();
    c.width = 0;
    CHECK_THROWS_WITH_AS(Mlp<double>{c}, doctest::Contains("network width must be >= 1, got 0"), Error);
  }
  {
    MlpConfig c = cfg();
    c.depth = 0;
    CHECK_THROWS_WITH_AS(Mlp<double>{c}, doctest::Contains("network depth (hidden layers) must be >= 1, got 0"), Error);
  }
  {
    MlpConfig c = cfg();
    c.inputs = 0;
    expect_error([&] { Mlp<float> m(c); }, {"network inputs must be >= 1"});
    c = cfg();
    c.outputs = 0;
    expect_error([&] { Mlp<float> m(c); }, {"network outputs must be >= 1"});
  }
  {
    MlpConfig c = cfg();
    c.fourier = {{2, 1.0, 3}};
    CHECK_THROWS_WITH_AS(Mlp<double>{c}, doctest::Contains("Fourier input 2 out of range 0..1"), Error);
    c.fourier = {{-1, 1.0, 3}};
    expect_error([&] { Mlp<double> m(c); }, {"Fourier input -1 out of range"});
    c.fourier = {{0, 0.0, 3}};
    expect_error([&] { Mlp<double> m(c); }, {"Fourier half period must be positive, got 0"});
    c.fourier = {{0, 1.0, 0}};
    expect_error([&] { Mlp<double> m(c); }, {"Fourier modes must be >= 1, got 0"});
  }
  CHECK_THROWS_WITH_AS(parse_activation("relu"), doctest::Contains("unknown activation 'relu'"), Error);
  expect_error([] { parse_activation("Tanh"); }, {"unknown activation 'Tanh'", "tanh, sin"});
  CHECK(parse_activation("tanh") == Activation::Tanh);
  CHECK(parse_activation("softplus") == Activation::Softplus);

  // Input points with the wrong column count: for the stream set, and for the network.
  Mlp<double> net(cfg(), 1);
  Tape<double> t(&net.params());
  auto ss = StreamSet::make({"x", "y"}, {"lap"}, {"x", "y"});
  CHECK_THROWS_WITH_AS(t.input(pts(5, 3), ss),
                       doctest::Contains("input points have 3 columns but the streams are over 2 inputs"), Error);
  V x3 = t.input(pts(5, 3), StreamSet::value_only());
  CHECK_THROWS_WITH_AS(net.forward(t, x3), doctest::Contains("network expects 2 input columns, got (5 x 3)"), Error);
  // A tape recording into another network's parameters.
  Mlp<double> other(cfg(), 2);
  Tape<double> wrong(&other.params());
  V x = wrong.input(pts(5, 2), ss);
  expect_error([&] { net.forward(wrong, x); }, {"this network's ParamStore"});
  // Copying parameters between networks of different shapes.
  MlpConfig big = cfg();
  big.width = 5;
  Mlp<float> f(big, 1);
  expect_error([&] { f.copy_params_from(net); }, {"copy_params_from", "differ in size"});
}

TEST_CASE("core: errors: what() is the message alone, the location is kept beside it") {
  const int line = __LINE__ + 2;  // the JETPINN_CHECK below
  try {
    JETPINN_CHECK(1 + 1 == 3, "arithmetic is off; expected " << 2);
    FAIL("JETPINN_CHECK did not throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "arithmetic is off; expected 2");
    REQUIRE(e.file() != nullptr);
    CHECK(std::string(e.file()).find("test_errors.cpp") != std::string::npos);
    CHECK(e.line() == line);
    CHECK(e.location() == std::string(e.file()) + ":" + std::to_string(line));
  }
  const Error plain("no location given");  // thrown by hand: no location, location() empty
  CHECK(plain.file() == nullptr);
  CHECK(plain.location().empty());
}
