// sinklab._core: the C++ engine behind `import sinklab` (python/sinklab/__init__.py is the
// documented API; this module is its thin layer over the same library the CLI links).
//
// Tensors leave as NumPy arrays that view the LibTorch tensor's memory (the array owns a
// reference to the tensor: no copy); the Python layer turns them into torch.Tensor with
// torch.from_numpy (again no copy) when the process's torch is the LibTorch sinklab links.
// InputError (bad input, exit 2 in the CLI) becomes ValueError with the same message.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/torch.h>

#include "analysis/run_analysis.h"
#include "data/bb.h"
#include "data/bigram.h"
#include "data/tokenizer.h"
#include "io/config.h"
#include "io/error.h"
#include "model/checkpoint.h"
#include "model/hooks.h"
#include "model/pretrained.h"
#include "model/transformer.h"
#include "report/core/claims.h"
#include "report/llm_scan_run.h"
#include "report/reproduce.h"
#include "train/config.h"
#include "train/trainer.h"

namespace py = pybind11;
using namespace sinklab;

namespace {

// f() with the GIL released (the engine's long calls: other Python threads run meanwhile).
template <class F>
auto unlocked(F&& f) {
  py::gil_scoped_release released;
  return f();
}

// ------------------------------------------------------------------ tensors
py::dtype numpy_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return py::dtype::of<float>();
    case at::kDouble: return py::dtype::of<double>();
    case at::kLong: return py::dtype::of<int64_t>();
    case at::kInt: return py::dtype::of<int32_t>();
    case at::kBool: return py::dtype::of<bool>();
    case at::kByte: return py::dtype::of<uint8_t>();
    default: return py::dtype::of<float>();
  }
}

// A NumPy view of the tensor's memory; the array keeps the tensor alive.
py::array to_numpy(at::Tensor t) {
  t = t.detach().cpu();
  const auto st = t.scalar_type();
  if (st != at::kFloat && st != at::kDouble && st != at::kLong && st != at::kInt && st != at::kBool && st != at::kByte)
    t = t.to(at::kFloat);  // bfloat16 / float16 activations
  t = t.contiguous();
  auto* keep = new at::Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<at::Tensor*>(p); });
  std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end()), strides;
  for (auto s : t.strides()) strides.push_back(s * (py::ssize_t)t.element_size());
  return py::array(numpy_dtype(t.scalar_type()), shape, strides, t.data_ptr(), owner);
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + (s.size() == 1 ? ",)" : ")");
}

// A float array (any numeric dtype) as a float32 tensor that owns a copy.
at::Tensor float_tensor(const py::array& a) {
  auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!f) throw InputError("expected a numeric array");
  std::vector<int64_t> shape(f.shape(), f.shape() + f.ndim());
  return torch::from_blob((void*)f.data(), shape, torch::kFloat32).clone();
}

// Token ids: a 1-D (one sequence) or 2-D [batch, tokens] integer array -> int64 [B, T].
at::Tensor token_tensor(const py::array& a, int64_t vocab) {
  if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')
    throw InputError(fmt::format("tokens must be integer ids, got an array of dtype '{}'",
                                 std::string(py::str(a.dtype()))));
  auto ids = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (ids.ndim() != 1 && ids.ndim() != 2)
    throw InputError(fmt::format("tokens must be 1-D (one sequence) or 2-D [batch, tokens], got {} dimensions", ids.ndim()));
  const int64_t B = ids.ndim() == 2 ? ids.shape(0) : 1, T = ids.shape(ids.ndim() - 1);
  if (B < 1 || T < 1) throw InputError("tokens: empty input");
  auto t = torch::from_blob((void*)ids.data(), {B, T}, torch::kInt64).clone();
  const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
  if (lo < 0 || hi >= vocab)
    throw InputError(fmt::format("token id {} is outside the model's vocabulary of {}", lo < 0 ? lo : hi, vocab));
  return t;
}

// ------------------------------------------------------------------ models
// A model held for Python: a pretrained model (with its tokenizer) or a toy run's.
struct Model {
  std::shared_ptr<PretrainedModel> pm;
  int64_t step = -1;  // toy runs: the checkpoint step

  Transformer& net() const { return *pm->model; }
  int64_t vocab() const { return net().spec().vocab; }
  int64_t n_ctx() const { return net().spec().n_ctx; }

  at::Tensor prepare(const py::array& tokens) const {
    auto t = token_tensor(tokens, vocab());
    if (t.size(1) > n_ctx())
      throw InputError(fmt::format("{} tokens exceed the model's context of {}", t.size(1), n_ctx()));
    return t.to(torch::Device(net().device()));
  }

  py::array forward(const py::array& tokens) const {
    auto t = prepare(tokens);
    torch::NoGradGuard ng;
    at::Tensor logits = unlocked([&] { return net().forward(t); });
    return to_numpy(logits);
  }

  // Records `names` (full hook names, "*" for every layer; empty = every hook point).
  py::tuple run_with_cache(const py::array& tokens, const std::vector<std::string>& names) const {
    auto t = prepare(tokens);
    Hooks hooks;
    if (names.empty()) hooks.record_all();
    for (const auto& n : names) hooks.record(n);
    torch::NoGradGuard ng;
    at::Tensor logits = unlocked([&] { return net().forward(t, &hooks); });
    py::dict cache;
    for (const auto& [name, v] : hooks.records()) cache[py::str(name)] = to_numpy(v);
    return py::make_tuple(to_numpy(logits), cache);
  }

  // fwd_hooks: (full hook name, fn(array, name) -> array | None). The function gets a
  // copy of the activation as float32; in-place edits of it count when it returns None.
  py::array run_with_hooks(const py::array& tokens, const std::vector<std::pair<std::string, py::function>>& fwd_hooks) const {
    auto t = prepare(tokens);
    Hooks hooks;
    for (const auto& [name, fn] : fwd_hooks) {
      HookPoint p;
      int layer = -1;
      if (!parse_hook_name(name, p, layer))
        throw InputError(fmt::format("unknown hook name '{}' (e.g. 'blocks.0.attn.hook_pattern'; Model.hook_names "
                                     "lists them)", name));
      if (layer >= net().spec().n_layers)
        throw InputError(fmt::format("hook '{}': the model has {} layers", name, net().spec().n_layers));
      // Held by pointer: copies of the HookFn inside the forward (GIL released) never touch
      // the Python object's reference count; it is released with `hooks`, GIL held.
      auto pfn = std::make_shared<py::function>(fn);
      hooks.add_override(p, layer, [name = name, pfn](const at::Tensor& x) -> at::Tensor {
        py::gil_scoped_acquire gil;
        auto arr = to_numpy(x.to(at::kFloat).clone());
        py::object r = (*pfn)(arr, name);
        at::Tensor out;
        if (r.is_none()) {
          out = float_tensor(arr);
        } else {
          auto ra = py::array::ensure(r);
          if (!ra || ra.dtype().kind() == 'O')
            throw InputError(fmt::format("hook '{}' returned {}, not an array", name,
                                         std::string(py::str(r.get_type().attr("__name__")))));
          out = float_tensor(ra);
        }
        if (out.sizes() != x.sizes())
          throw InputError(fmt::format("hook '{}' returned shape {} but the activation has shape {}", name,
                                       shape_text(out.sizes().vec()), shape_text(x.sizes().vec())));
        return out.to(x.device(), x.scalar_type());
      });
    }
    torch::NoGradGuard ng;
    at::Tensor logits = unlocked([&] { return net().forward(t, &hooks); });
    return to_numpy(logits);
  }

  std::vector<int32_t> tokenize(const std::string& text, py::object bos) const {
    EncodeOptions o;
    if (!bos.is_none()) o.add_bos = bos.cast<bool>();
    return pm->tok().encode(text, o);
  }
  std::vector<std::string> pieces(const std::vector<int32_t>& ids) const {
    std::vector<std::string> out;
    const auto& tok = pm->tok();
    for (auto id : ids) {
      if (id < 0 || (size_t)id >= tok.vocab_size())
        throw InputError(fmt::format("token id {} is outside the tokenizer's vocabulary of {}", id, tok.vocab_size()));
      out.push_back(tok.token_to_piece(id));
    }
    return out;
  }
};

Model load_model(const std::string& path, const std::string& weights, const std::string& device, const std::string& dtype) {
  LoadOptions o;
  o.weights = weights, o.device = device, o.dtype = dtype;
  Model m;
  m.pm = std::make_shared<PretrainedModel>(load_pretrained(path, o));
  return m;
}

// A toy run's model at a checkpoint (-1 = the last), without a tokenizer.
Model load_run_model(const std::string& run_dir, int64_t step) {
  auto r = load_run(run_dir, step);
  Model m;
  m.pm = std::make_shared<PretrainedModel>();
  m.pm->path = run_dir, m.pm->arch = "toy", m.pm->name = run_dir;
  m.pm->model = std::move(r->model);
  m.step = r->step;
  return m;
}

std::vector<std::string> hook_names(const Model& m) {
  std::vector<std::string> out;
  const int L = m.net().spec().n_layers;
  for (auto p : {HookPoint::Embed, HookPoint::PosEmbed}) out.push_back(hook_name(p, -1));
  for (int l = 0; l < L; ++l)
    for (auto p : {HookPoint::ResidPre, HookPoint::Q, HookPoint::K, HookPoint::V, HookPoint::RotQ, HookPoint::RotK,
                   HookPoint::AttnScores, HookPoint::Pattern, HookPoint::Z, HookPoint::AttnOut, HookPoint::ResidMid,
                   HookPoint::MlpOut, HookPoint::ResidPost})
      out.push_back(hook_name(p, l));
  out.push_back(hook_name(HookPoint::FinalNorm, -1));
  return out;
}

// ------------------------------------------------------------------ BB data
struct Task {
  std::shared_ptr<BBTask> task;
};

Task make_task(const std::vector<std::string>& sets) {
  TrainConfig c = load_train_config("", "", sets);
  require(!c.is_lm(), "sinklab.bb.Task is the BB family of tasks (bb, markov, bb-mix, bietti), not lm");
  return Task{std::make_shared<BBTask>(BigramSource::from_spec(c.source), c.task_config())};
}

py::dict task_batch(const Task& t, uint64_t seed, int n, uint64_t index) {
  require(n >= 1, fmt::format("n = {} must be >= 1", n));
  Batch b;
  unlocked([&] { t.task->generate(seed, index, n, b, 0, true); });
  const int64_t B = b.B, T = b.T;
  py::array_t<int64_t> tokens({B, T + 1});
  std::copy(b.tokens.begin(), b.tokens.end(), tokens.mutable_data());
  py::array_t<bool> trig({B, T}), copy({B, T});
  py::array_t<float> nll({B, T}), ent({B, T});
  for (int64_t i = 0; i < B * T; ++i) {
    trig.mutable_data()[i] = b.is_trigger[i] != 0;
    copy.mutable_data()[i] = b.is_copy[i] != 0;
    nll.mutable_data()[i] = b.oracle_nll[i];
    ent.mutable_data()[i] = b.oracle_entropy[i];
  }
  py::dict d;
  d["tokens"] = tokens, d["is_trigger"] = trig, d["is_copy"] = copy;
  d["oracle_nll"] = nll, d["oracle_entropy"] = ent;
  return d;
}

// ------------------------------------------------------------------ runs
py::dict train_run(const std::string& preset, const std::string& config, const std::vector<std::string>& sets,
                   bool progress, bool force) {
  TrainConfig c = load_train_config(preset, config, sets);
  TrainOptions o;
  o.progress = progress;
  o.force = force;
  TrainOutcome out = unlocked([&] { return train_new(c, o); });
  return py::dict(py::arg("run_dir") = out.run_dir, py::arg("step") = out.step,
                  py::arg("interrupted") = out.interrupted);
}

std::vector<std::string> analyze(const std::string& run_dir, double threshold, bool progress) {
  AnalyzeOptions o;
  o.threshold = threshold;
  o.progress = progress;
  unlocked([&] { write_analysis_csv(analyze_run(run_dir, o)); });
  return {run_dir + "/analysis/loss.csv", run_dir + "/analysis/heads.csv", run_dir + "/analysis/layers.csv"};
}

py::dict reproduce_run(const std::string& scale, const std::string& out, const std::string& source, int seeds,
                       const std::vector<std::string>& sets, bool progress, bool force) {
  ReproduceOptions o;
  o.scale = scale, o.out = out, o.source = source, o.seeds = seeds, o.sets = sets, o.progress = progress,
  o.force = force;
  require(scale == "quick" || scale == "paper", "scale must be 'quick' or 'paper', got '" + scale + "'");
  ReproduceResult r = unlocked([&] { return reproduce(o); });
  return py::dict(py::arg("report") = r.report_path, py::arg("claims") = r.claims_path,
                  py::arg("warnings") = r.warnings);
}

std::string scan(const Model& m, const std::vector<std::string>& domains, const std::string& out, int docs, int ctx,
                 const std::string& ablate, bool attribution, bool bos, double threshold, bool progress, bool force) {
  report::LlmScanArgs a;
  a.model = m.pm->path, a.domains = domains, a.out = out, a.docs = docs, a.ctx = ctx, a.ablate = ablate;
  a.no_attribution = !attribution, a.no_bos = !bos, a.threshold = threshold, a.no_progress = !progress, a.force = force;
  a.command = "sinklab.scan(" + m.pm->path + ")";
  nlohmann::json J = unlocked([&] { return report::run_llm_scan(a, nullptr, m.pm.get()); });
  return J.dump();
}

std::vector<std::string> config_keys() {
  TrainConfig c;
  ConfigSchema s;
  c.describe(s);
  return s.keys();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "sinklab's C++ engine (use the sinklab package, not this module)";
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);
  py::register_exception<Interrupted>(m, "Interrupted", PyExc_KeyboardInterrupt);
  m.attr("version") = "0.1.0";
  m.attr("libtorch_version") = SINKLAB_LIBTORCH_VERSION;  // sinklab::libtorch's compile definition

  py::class_<Task>(m, "Task")
      .def_property_readonly("vocab_size", [](const Task& t) { return t.task->vocab_size(); })
      .def_property_readonly("seq_len", [](const Task& t) { return t.task->config().seq_len; })
      .def_property_readonly("triggers", [](const Task& t) { return t.task->triggers(); })
      .def("token_string", [](const Task& t, int64_t id) { return t.task->token_string(id); })
      .def("bos_id", [](const Task& t, int i) { return t.task->bos_id(i); }, py::arg("i") = 0)
      .def("oracle_stats",
           [](const Task& t, uint64_t seed, int n) {
             require(n >= 1, fmt::format("n_seqs = {} must be >= 1", n));
             OracleStats s = unlocked([&] { return t.task->oracle_stats(seed, n); });
             return py::dict(py::arg("loss") = s.loss_all, py::arg("loss_trigger") = s.loss_trigger,
                             py::arg("loss_nontrigger") = s.loss_nontrigger, py::arg("se") = s.se_all,
                             py::arg("trigger_fraction") = s.trigger_fraction, py::arg("positions") = s.positions);
           })
      .def("batch", &task_batch);
  m.def("make_task", &make_task);

  py::class_<Model>(m, "Model")
      .def_property_readonly("path", [](const Model& x) { return x.pm->path; })
      .def_property_readonly("arch", [](const Model& x) { return x.pm->arch; })
      .def_property_readonly("name", [](const Model& x) { return x.pm->name; })
      .def_property_readonly("step", [](const Model& x) { return x.step; })
      .def_property_readonly("n_layers", [](const Model& x) { return x.net().spec().n_layers; })
      .def_property_readonly("n_heads", [](const Model& x) { return x.net().spec().n_heads; })
      .def_property_readonly("d_model", [](const Model& x) { return x.net().spec().d_model; })
      .def_property_readonly("n_ctx", &Model::n_ctx)
      .def_property_readonly("vocab_size", &Model::vocab)
      .def_property_readonly("has_tokenizer", [](const Model& x) { return (bool)x.pm->tokenizer; })
      .def("hook_names", &hook_names)
      .def("tokenize", &Model::tokenize)
      .def("pieces", &Model::pieces)
      .def("forward", &Model::forward)
      .def("run_with_cache", &Model::run_with_cache)
      .def("run_with_hooks", &Model::run_with_hooks);
  m.def("load", &load_model);
  m.def("load_run", &load_run_model);
  m.def("list_checkpoints", &list_checkpoints);
  m.def("train", &train_run);
  m.def("analyze", &analyze);
  m.def("reproduce", &reproduce_run);
  m.def("scan", &scan);
  m.def("config_keys", &config_keys);
  m.def("set_threads", &set_compute_threads);
}
