#include "check/reference_check.h"

#include <algorithm>
#include <cmath>

#include "check/reference_fixture.h"
#include "core/error.h"
#include "model/arch/registry.h"
#include "generate/generator.h"
#include "model/forward.h"
#include "model/model_on_device.h"
#include "tune/objective.h"
#include "tune/trainer.h"

namespace s0 {

namespace {
constexpr double kTensorTol = 1e-4;  // fixtures/README.md: logits, hidden, final states, gradients
constexpr double kTrainTol = 1e-3;   // states after optimizer steps, relative L2 norm

double relative_l2_error(const float* a, const float* b, int64_t n) {
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    diff += d * d;
    ref += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(ref), 1e-12);
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Greedy tokens after sequence 0's prompt against the reference's, compared where the reference's
// top-1/top-2 logit margin exceeds kGenMargin (elsewhere float rounding may pick either). Once the
// tokens differ the two continuations have different prefixes, so later steps are not compared.
constexpr double kGenMargin = 1e-3;
CheckLine check_greedy(const HybridModel& model, const ReferenceFixture& fx, const std::string& name,
                       const StateSet* initial, const std::string& origin) {
  const Tensor ref = fx.expected(name);
  const std::string tag = name.substr(name.find('.') + 1);
  const Json& margins = json_field(json_field(json_field(fx.meta, "generate", origin), tag, origin + " generate"),
                                   "top1_top2_margin", origin + " generate " + tag);
  const std::vector<int64_t>& seq = fx.sequences.at(0);
  GenerationOptions go;
  go.max_new_tokens = ref.numel();
  const Generation g = generate(
      model, {{std::vector<int64_t>(seq.begin(), seq.begin() + fx.prompt_lens.at(0)), initial, 0}}, go).at(0);
  int mismatches = 0;
  for (int64_t i = 0; i < ref.numel() && i < static_cast<int64_t>(g.tokens.size()); ++i) {
    const int64_t want = static_cast<int64_t>(ref.f32()[i]);
    if (g.tokens[i] == want) continue;
    if (margins.at(static_cast<size_t>(i)).get<double>() > kGenMargin) ++mismatches;
    break;
  }
  if (static_cast<int64_t>(g.tokens.size()) < ref.numel()) ++mismatches;
  return {name, static_cast<double>(mismatches), 0, "mismatches ", mismatches == 0};
}
// Lists what the fixture holds beyond its inputs and what was checked.
ReferenceReport finish_report(const ReferenceFixture& fx, const std::vector<std::string>& checked,
                              ReferenceReport& report) {
  for (const std::string& name : fx.tensors.names()) {
    if (starts_with(name, "ids.") || starts_with(name, "s0.")) continue;
    if (std::find(checked.begin(), checked.end(), name) == checked.end()) report.not_checked.push_back(name);
  }
  return report;
}
}  // namespace

int ReferenceReport::passed() const {
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [](const CheckLine& l) { return l.pass; }));
}
int ReferenceReport::failed() const { return static_cast<int>(lines.size()) - passed(); }

double max_relative_error(const float* a, const float* b, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= diff)) diff = d;  // NaN propagates as a failure
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(scale, 1e-12);
}

ReferenceReport check_reference(const std::filesystem::path& dir, Device device,
                                const std::function<void(const CheckLine&)>& on_line) {
  const HybridModel model = load_model(dir);
  const ReferenceFixture fx = ReferenceFixture::open(dir, model);
  // The forward runs on `device`: the model's weights and the fixture's S0 go there, results come back.
  const HybridModel device_model = device.is_cpu() ? HybridModel{} : model_on(model, device);
  const HybridModel& forward_model = device.is_cpu() ? model : device_model;
  StateSet device_s0;
  for (const Tensor& s : fx.s0.states) device_s0.states.push_back(s.empty() ? s : s.to(device));
  ReferenceReport report;
  std::vector<std::string> checked;

  auto add_line = [&](const CheckLine& line) {
    report.lines.push_back(line);
    checked.push_back(line.quantity);
    if (on_line) on_line(line);
  };
  auto compare = [&](const std::string& name, const float* ours, const Shape& shape, bool train_measure = false) {
    const Tensor ref = fx.expected(name);
    CheckLine line{name, 0, train_measure ? kTrainTol : kTensorTol, train_measure ? "rel L2 err " : "max rel err",
                   false};
    if (ref.shape() != shape) {
      line.error = INFINITY;
      line.measure = "shape " + shape_str(shape) + " vs reference " + shape_str(ref.shape()) + ";";
    } else {
      line.error = train_measure ? relative_l2_error(ours, ref.f32(), ref.numel())
                                 : max_relative_error(ours, ref.f32(), ref.numel());
    }
    line.pass = line.error <= line.tolerance;
    add_line(line);
  };

  const int64_t n_seq = static_cast<int64_t>(fx.sequences.size());
  const int64_t V = model.vocab, Hd = model.hidden;
  // All sequences in one packed batch: each result must equal the single-sequence reference.
  for (bool with_s0 : {false, true}) {
    std::vector<const StateSet*> init(static_cast<size_t>(n_seq), with_s0 ? &device_s0 : nullptr);
    PackedBatch batch = PackedBatch::from_sequences(fx.sequences, init);
    ForwardOptions opt;
    opt.all_logits = true;
    opt.keep_hidden = with_s0;
    opt.keep_final_states = with_s0;
    ForwardOutput out = forward(forward_model, batch, opt);
    out.logits = out.logits.to(Device::cpu());
    for (Tensor& h : out.hidden) h = h.to(Device::cpu());
    for (std::vector<Tensor>& slot : out.final_states)
      for (Tensor& st : slot) st = st.to(Device::cpu());
    const std::string tag = with_s0 ? "s0" : "zero";
    for (int64_t k = 0; k < n_seq; ++k) {
      const std::string name = "logits." + tag + "." + std::to_string(k);
      if (fx.has(name)) compare(name, out.logits.f32() + batch.begin(k) * V, {batch.length(k), V});
    }
    if (!with_s0) continue;
    for (size_t j = 0; j < out.hidden.size(); ++j) {
      const std::string name = "hidden.s0.0." + std::to_string(j);
      if (fx.has(name)) compare(name, out.hidden[j].f32(), {batch.length(0), Hd});
    }
    for (size_t slot = 0; slot < model.recurrent.size(); ++slot)
      for (int64_t k = 0; k < n_seq; ++k) {
        const std::string name = "final_state.s0." + std::to_string(k) + "." + std::to_string(model.recurrent[slot].layer);
        const Tensor& st = out.final_states[slot][static_cast<size_t>(k)];
        if (fx.has(name)) compare(name, st.f32(), st.shape());
      }
  }

  // dJ/dS0 at S0, all sequences in one batch.
  std::vector<Example> examples;
  for (size_t k = 0; k < fx.sequences.size(); ++k) examples.push_back({fx.sequences[k], fx.prompt_lens[k]});
  const std::string meta_origin = (dir / "reference.json").string();
  const Json no_object = Json::object();
  const Json& loss_meta = fx.meta.contains("loss") ? fx.meta["loss"] : no_object;
  ObjectiveOptions oo;
  oo.l2_lambda = json_number_or(loss_meta, "l2_lambda", 5e-4, meta_origin + " loss");
  bool any_grad = false;
  for (const RecurrentLayer& r : model.recurrent) any_grad |= fx.has("grad." + std::to_string(r.layer));
  if (any_grad) {
    ObjectiveResult g = objective_and_gradient(forward_model, examples, fx.s0, oo);
    if (loss_meta.contains("objective")) {
      const double want = json_number(loss_meta, "objective", meta_origin + " loss");
      const double err = std::fabs(g.objective - want) / std::max(std::fabs(want), 1e-12);
      add_line({"objective", err, kTensorTol, "rel err    ", err <= kTensorTol});
    }
    for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
      const std::string name = "grad." + std::to_string(model.recurrent[slot].layer);
      if (fx.has(name)) compare(name, g.grad[slot].f32(), g.grad[slot].shape());
    }
  }

  // The reference optimizer from zeros: states after each step.
  if (fx.meta.contains("train") && fx.has("train.step1." + std::to_string(model.recurrent.at(0).layer))) {
    const Json& tm = fx.meta["train"];
    const std::string to = meta_origin + " train";
    TrainConfig tc;
    tc.n_steps = static_cast<int>(json_int(tm, "steps", to));
    tc.lr = json_number_or(tm, "lr", 1e-3, to);
    tc.l2_lambda = json_number_or(tm, "l2_lambda", 5e-4, to);
    tc.grad_clip = json_number_or(tm, "grad_clip", 1.0, to);
    auto check_step = [&](const StepReport& rep, const StateSet& st, const AdamState&) {
      for (size_t slot = 0; slot < model.recurrent.size(); ++slot) {
        const std::string name = "train.step" + std::to_string(rep.step) + "." + std::to_string(model.recurrent[slot].layer);
        if (fx.has(name)) compare(name, st.states[slot].f32(), st.states[slot].shape(), true);
      }
    };
    train_states(forward_model, examples, tc, TrainOptions{}, check_step);
  }

  for (const char* name : {"gen.zero", "gen.s0"})
    if (fx.has(name))
      add_line(
          check_greedy(forward_model, fx, name, name == std::string("gen.s0") ? &device_s0 : nullptr, meta_origin));

  return finish_report(fx, checked, report);
}

}  // namespace s0
