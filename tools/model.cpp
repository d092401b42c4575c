// Model<T> (see model.h): configuration resolved by config.h, objects built by run_setup.h, the training loop
// of the library (the driver keeps its own loop for run folders, signals and NaN rollback, over trainer()).
#include "model.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "config.h"
#include "run_setup.h"
#if JETPINN_WITH_CUDA
#include "cuda_device.h"
#include "device_ops.h"
#endif

namespace jetpinn {

bool cuda_backend_built() { return JETPINN_WITH_CUDA != 0; }

void check_backend(const std::string& name) {
  if (name == "cpu") return;
  JETPINN_CHECK(name == "cuda", "unknown backend '" << name << "'; use cpu or cuda");
  JETPINN_CHECK(cuda_backend_built(), "backend 'cuda': this jetpinn was built without the CUDA backend (nvcc not found, "
                                      "or -DJETPINN_CUDA=OFF); use backend 'cpu', or rebuild with -DJETPINN_CUDA=ON "
                                      "where the CUDA toolkit is installed");
#if JETPINN_WITH_CUDA
  std::string why;
  JETPINN_CHECK(cuda::device_count(&why) > 0, "backend 'cuda': no CUDA device (" << why << "); use backend 'cpu'");
#endif
}

template <class T>
std::shared_ptr<Backend<T>> make_backend(const Json& train) {
  const std::string name = train.at("backend");
  check_backend(name);
  JETPINN_CHECK(name == "cuda", "make_backend: the host trainer needs no backend");
#if JETPINN_WITH_CUDA
  const std::string gemm = train.at("gemm");
  const cuda::GemmMath math = gemm == "tf32" ? cuda::GemmMath::TF32 : gemm == "3xtf32" ? cuda::GemmMath::TF32x3
                                                                                      : cuda::GemmMath::Pedantic;
  const int device = train.at("device");
  std::string why;
  const int count = cuda::device_count(&why);
  JETPINN_CHECK(device < count, "'train.device' is " << device << " but this machine has " << count << " CUDA device(s)");
  return std::make_shared<Backend<T>>(cuda::make_device_ops<T>(device, math));
#else
  return nullptr;
#endif
}
template std::shared_ptr<Backend<float>> make_backend<float>(const Json&);
template std::shared_ptr<Backend<double>> make_backend<double>(const Json&);

namespace {
template <class T>
constexpr const char* precision_of() { return sizeof(T) == 4 ? "f32" : "f64"; }
template <class T>
constexpr const char* type_of() { return sizeof(T) == 4 ? "float" : "double"; }

// train.threads for the duration of one call: OpenMP's thread count set when > 0, the caller's restored after.
class ThreadScope {
 public:
  explicit ThreadScope(const Json& cfg) : m_threads(cfg.at("train").at("threads")), m_previous(omp_get_max_threads()) {
    if (m_threads > 0) omp_set_num_threads(m_threads);
  }
  ~ThreadScope() {
    if (m_threads > 0) omp_set_num_threads(m_previous);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int m_threads, m_previous;
};

// A parameter's shape as PyTorch's nn.Linear holds it: a weight out x in, a bias a vector of out.
std::vector<std::size_t> torch_shape(const ParamInfo& p) {
  if (p.is_bias) return {static_cast<std::size_t>(p.size())};
  return {static_cast<std::size_t>(p.rows), static_cast<std::size_t>(p.cols)};
}
std::string shape_text(const std::vector<std::size_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

// `data` (the store's values or gradients) as named arrays, in the store's order.
template <class T>
NamedArrays named_arrays(const ParamStore<T>& store, const T* data) {
  NamedArrays out;
  for (const ParamInfo& p : store.infos())
    out.emplace_back(p.name, NpyArray{torch_shape(p), std::vector<double>(data + p.offset, data + p.offset + p.size())});
  return out;
}

// Writes every parameter of `store` from `arrays` after checking all of them (names, shapes, finite values), so
// a bad set changes nothing. `where` starts each error line.
template <class T>
void write_parameters(ParamStore<T>& store, const NamedArrays& arrays, const std::string& where) {
  std::string names;
  for (const ParamInfo& p : store.infos()) names += (names.empty() ? "" : ", ") + p.name;
  std::vector<const NpyArray*> found(store.infos().size(), nullptr);
  for (const auto& [name, a] : arrays) {
    std::size_t i = 0;
    while (i < found.size() && store.info(static_cast<int>(i)).name != name) ++i;
    JETPINN_CHECK(i < found.size(), where << ": unknown tensor '" << name << "'; this network's parameters are " << names);
    JETPINN_CHECK(!found[i], where << ": tensor '" << name << "' appears twice");
    const std::vector<std::size_t> want = torch_shape(store.info(static_cast<int>(i)));
    JETPINN_CHECK(a.shape == want, where << ": tensor '" << name << "' has shape " << shape_text(a.shape)
                                         << "; this network's is " << shape_text(want));
    JETPINN_CHECK(a.data.size() == npy_element_count(a.shape),
                  where << ": tensor '" << name << "' holds " << a.data.size() << " values for shape " << shape_text(a.shape));
    for (double v : a.data) JETPINN_CHECK(std::isfinite(v), where << ": tensor '" << name << "' holds a NaN or Inf");
    found[i] = &a;
  }
  for (std::size_t i = 0; i < found.size(); ++i)
    JETPINN_CHECK(found[i], where << ": tensor '" << store.info(static_cast<int>(i)).name << "' is missing (shape "
                                  << shape_text(torch_shape(store.info(static_cast<int>(i)))) << ")");
  for (std::size_t i = 0; i < found.size(); ++i) {
    const ParamInfo& p = store.info(static_cast<int>(i));
    for (Index k = 0; k < p.size(); ++k) store.values()[p.offset + k] = static_cast<T>(found[i]->data[static_cast<std::size_t>(k)]);
  }
}
}  // namespace

template <class T>
Model<T>::Model(ProblemInfo problem, const Json& config, const std::string& preset) : m_info(std::move(problem)) {
  JETPINN_CHECK(config.is_object(), "Model: the configuration must be a JSON object, got " << config.dump());
  JETPINN_CHECK(m_info.make_f32 && m_info.make_f64, "problem '" << m_info.name << "' has no factories; build its "
                                                    "ProblemInfo with ProblemSpec::info() or with_factories<P>()");
  Json patch = config;
  if (!patch.contains("train") || !patch["train"].is_object() || !patch["train"].contains("precision"))
    patch["train"]["precision"] = precision_of<T>();
  // The library measures no diagnostics unless asked (the driver's resolved configuration always says).
  if (!patch.contains("diagnostics") || !patch["diagnostics"].is_object() || !patch["diagnostics"].contains("enabled"))
    patch["diagnostics"]["enabled"] = false;
  m_cfg = resolve_config(m_info, preset, &patch, {});
  JETPINN_CHECK(m_cfg.at("train").at("precision") == precision_of<T>(),
                "train.precision is " << m_cfg.at("train").at("precision") << " but this is a Model<" << type_of<T>()
                                      << ">; use Model<" << (sizeof(T) == 4 ? "double" : "float")
                                      << "> or drop train.precision");
  check_backend(m_cfg.at("train").at("backend"));
  const auto seed = static_cast<std::uint64_t>(m_cfg.at("train").at("seed").get<long long>());
  m_problem = make_problem<T>(m_info, m_cfg);
  m_net = std::make_unique<Mlp<T>>(network_config(m_info, m_cfg), seed);
  m_problem->configure_network(*m_net, m_cfg);
  if (const std::string from = m_cfg.at("net").at("init_from"); !from.empty()) {
    NamedArrays weights;
    try {
      weights = read_npz(from);
    } catch (const Error& e) {
      throw Error(std::string("net.init_from: ") + e.what(), e.file(), e.line());
    }
    write_parameters(m_net->params(), weights, "net.init_from '" + from + "'");
  }
  std::vector<Term<T>> terms = m_problem->terms(m_cfg);
  const Json& weights = m_cfg.at("loss").at("weights");
  for (auto& t : terms)
    if (weights.contains(t.name)) t.weight = weights.at(t.name);
  TrainOptions options = train_options(m_cfg);
  options.diagnostics.domain_lo = m_info.domain.lo;  // homogeneity cells tile the problem's domain
  options.diagnostics.domain_hi = m_info.domain.hi;
  m_trainer = std::make_unique<Trainer<T>>(*m_net, std::move(terms), options, seed + 1);
  if (m_cfg.at("train").at("backend") == "cuda") m_trainer->set_backend(make_backend<T>(m_cfg.at("train")));
}

template <class T>
Model<T>::Model(const std::string& problem, const Json& config, const std::string& preset)
    : Model(find_problem(problem), config, preset) {}

template <class T>
Model<T> Model<T>::open(ProblemInfo problem, const std::string& path) {
  const Checkpoint c = Checkpoint::read(path, problem.name);
  JETPINN_CHECK(c.has("config"), "checkpoint '" << path << "' carries no configuration (it was not written by "
                                                "Model::save); build the Model from its config.json, then restore()");
  return open(std::move(problem), Json::parse(c.get_string("config")), c);
}

template <class T>
Model<T> Model<T>::open(ProblemInfo problem, const Json& config, const Checkpoint& c) {
  Json cfg = config;
  if (cfg.contains("net") && cfg["net"].is_object() && cfg["net"].contains("init_from")) cfg["net"]["init_from"] = "";
  Model m(std::move(problem), cfg);
  m.restore(c);
  return m;
}

template <class T>
void Model<T>::set_lr(double lr) {
  m_trainer->set_lr(lr);
  m_cfg["optim"]["lr"] = lr;
}

template <class T>
LoggedStep Model<T>::logged(const StepStats& s, double seconds) const {
  LoggedStep l;
  l.step = s.step + 1;
  l.loss = s.loss;
  for (const auto& t : m_trainer->terms()) l.terms.push_back(t.name);
  l.term_mse = s.term_mse;
  l.lr = s.lr;
  l.lbfgs = s.lbfgs;
  l.evals = s.evals;
  l.seconds = seconds;
  if (s.diag) {
    const StepDiagnostics& d = *s.diag;
    l.diagnostics = Diagnostics{d.grad.snr, d.grad.phi, d.grad.layers, d.grad.layer_snr, d.snr_adam,
                                d.phi_rba, d.phi_res, phase_name(d.phase), d.transition};
  }
  return l;
}

template <class T>
LoggedStep Model<T>::step() {
  const ThreadScope threads(m_cfg);
  const StepStats s = m_trainer->step();
  JETPINN_CHECK(s.bad.empty(), "training stopped at step " << s.step << ": " << s.bad
                                                           << "; nothing was updated: lower optim.lr, or load() the last save()");
  return logged(s, 0);
}

template <class T>
TrainResult Model<T>::train(const StepCallback& callback) {
  const Json& tr = m_cfg.at("train");
  const long iters = tr.at("iters"), log_every = tr.at("log_every"), eval_every = tr.at("eval_every");
  const double max_seconds = tr.at("max_seconds");
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const ThreadScope threads(m_cfg);
  TrainResult r;
  while (steps_done() < iters) {
    const StepStats s = m_trainer->step();
    JETPINN_CHECK(s.bad.empty(), "training stopped at step " << s.step << ": " << s.bad
                                                             << "; nothing was updated: lower optim.lr, or load() the last save()");
    r.loss = s.loss;
    const long done = s.step + 1;
    if (!s.finished.empty()) r.finished = s.finished;
    const bool last = done >= iters || !s.finished.empty() || (max_seconds > 0 && elapsed() >= max_seconds);
    const bool eval = has_reference() && eval_every > 0 && (done % eval_every == 0 || last);
    if (callback && (done % log_every == 0 || last || eval || s.diag)) {
      LoggedStep l = logged(s, elapsed());
      if (eval) l.rel_l2 = relative_l2();
      if (!callback(l)) {
        r.stopped_by_callback = true;
        break;
      }
    }
    if (last) break;
  }
  r.steps = steps_done();
  if (has_reference()) r.rel_l2 = relative_l2();
  r.seconds = elapsed();
  return r;
}

template <class T>
RowMat<double> Model<T>::evaluate(const RowMat<double>& points, const std::vector<std::string>& quantities) const {
  std::string inputs;
  for (const auto& n : m_info.inputs) inputs += (inputs.empty() ? "" : ", ") + n;
  JETPINN_CHECK(points.cols() == static_cast<Index>(m_info.inputs.size()),
                "evaluate: points have " << points.cols() << " columns; problem '" << m_info.name << "' has "
                                         << m_info.inputs.size() << " inputs, pass one column per input (" << inputs << ")");
  JETPINN_CHECK(!quantities.empty(), "evaluate: name at least one quantity, e.g. " << m_info.outputs[0] << " or "
                                                                                 << m_info.outputs[0] << "_" << m_info.inputs[0]);
  const ThreadScope threads(m_cfg);
  m_trainer->sync_host();
  try {
    if (!m_evaluator) m_evaluator = std::make_unique<QuantityEvaluator<T>>(*m_problem, *m_net);
    return (*m_evaluator)(m_info, points, quantities);
  } catch (const Error& e) {
    throw Error(std::string("evaluate: ") + e.what(), e.file(), e.line());
  }
}

template <class T>
LossAndGradient Model<T>::loss_and_gradient() {
  const ThreadScope threads(m_cfg);
  LossAndGradient r;
  r.loss = m_trainer->loss_and_gradient();
  for (const auto& t : m_trainer->terms()) r.terms.push_back(t.name);
  r.term_mse = m_trainer->term_mse();
  r.gradient = named_arrays(m_net->params(), std::as_const(*m_net).params().grads());
  return r;
}

template <class T>
NamedArrays Model<T>::parameters() const {
  m_trainer->sync_host();
  return named_arrays(m_net->params(), std::as_const(*m_net).params().values());
}

template <class T>
void Model<T>::set_parameters(const NamedArrays& params) {
  m_trainer->sync_host();
  write_parameters(m_net->params(), params, "set_parameters");
  m_trainer->params_changed();
}

template <class T>
void Model<T>::save_parameters(const std::string& npz) const {
  write_npz(npz, parameters());
}

template <class T>
void Model<T>::load_parameters(const std::string& npz) {
  const NamedArrays arrays = read_npz(npz);
  m_trainer->sync_host();
  write_parameters(m_net->params(), arrays, "load_parameters '" + npz + "'");
  m_trainer->params_changed();
}

template <class T>
const Reference& Model<T>::reference() const {
  JETPINN_CHECK(has_reference(), "problem '" << m_info.name << "' has no reference solution; set ProblemSpec::reference "
                                             "or set_exact(), or compare evaluate() with your own values");
  if (!m_reference) m_reference = std::make_shared<const Reference>(m_info.reference(m_cfg));
  return *m_reference;
}

template <class T>
double Model<T>::relative_l2(RowMat<double>* prediction) const {
  const ThreadScope threads(m_cfg);
  m_trainer->sync_host();
  return jetpinn::relative_l2(m_info, *m_problem, *m_net, reference(), prediction);
}

template <class T>
Checkpoint Model<T>::checkpoint() const {
  Checkpoint c;
  c.set_problem(m_info.name);
  c.put_string("precision", precision_of<T>());
  m_trainer->save(c);
  return c;
}

template <class T>
void Model<T>::restore(const Checkpoint& c) {
  JETPINN_CHECK(c.problem() == m_info.name, "the checkpoint is of problem '" << c.problem() << "', not '" << m_info.name << "'");
  const std::string p = c.has("precision") ? c.get_string("precision") : precision_of<T>();
  JETPINN_CHECK(p == precision_of<T>(), "the checkpoint holds " << p << " parameters; restore it into a Model<"
                                                                << (p == "f32" ? "float" : "double") << ">");
  m_trainer->load(c);
}

template <class T>
void Model<T>::save(const std::string& path) const {
  Checkpoint c = checkpoint();
  c.put_string("config", m_cfg.dump());
  c.write(path);
}

template <class T>
void Model<T>::load(const std::string& path) {
  restore(Checkpoint::read(path, m_info.name));
}

template class Model<float>;
template class Model<double>;

}  // namespace jetpinn
