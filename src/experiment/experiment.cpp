#include "experiment/experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <cstdio>
#include <functional>
#include <iostream>

#include "experiment/collect_run.h"
#include "experiment/eval_run.h"
#include "experiment/experiment_layout.h"
#include "experiment/experiment_ledger.h"
#include "experiment/train_run.h"
#include "generate/model_session.h"
#include "model/model_on_device.h"
#include "ops/device_runtime.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/ordered_sum.h"
#include "eval/protocol.h"
#include "io/adapter_file.h"
#include "io/file.h"
#include "io/hf_cache.h"
#include "io/json_lines.h"
#include "io/output_lock.h"
#include "io/output_path.h"
#include "report/experiment_report.h"
#include "tune/optimizer_file.h"

namespace s0 {
namespace {

namespace fs = std::filesystem;

// The model as records name it: its folder, its config and its files' names and sizes (hashing
// gigabytes of weights for every stage would cost more than some stages).
std::string model_digest(const std::string& model) {
  const fs::path dir = resolve_model_folder(model);
  std::string listing = read_file(dir / "config.json");
  std::vector<std::string> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) entries.push_back(e.path().filename().string() + " " + std::to_string(e.file_size()));
  std::sort(entries.begin(), entries.end());
  for (const std::string& e : entries) listing += "\n" + e;
  return content_digest(listing);
}

// A repeatable flag's values: one at least, none twice (it would train or evaluate the same twice).
void check_repeatable(const std::vector<std::string>& values, const std::string& flag) {
  if (values.empty()) fail(flag, ": no value given");
  for (const std::string& v : values)
    if (std::count(values.begin(), values.end(), v) > 1) fail(flag, " ", v, " is given more than once");
}

class Experiment {
 public:
  explicit Experiment(const ExperimentOptions& o)
      : o_(o), layout_{normalize_output_path(o.out)}, ledger_(o.resume) {
    bench_ = parse_benchmark(o.benchmark);
    const PaperSampling paper = paper_sampling(bench_);
    samples_ = o.samples ? *o.samples : paper.samples;
    common_ = {{"model", fs::absolute(resolve_model_folder(o.model)).lexically_normal().string()},
               {"model_digest", model_digest(o.model)},
               {"benchmark", benchmark_name(bench_)}, {"max_new_tokens", o.max_new_tokens},
               {"timeout", o.timeout}, {"sandbox", !o.unsafe}};
    // Recorded only when not the default, so that folders made before the options still resume.
    // --dtype as given: the matrices' dtype changes every stage's numbers, while "as the checkpoint
    // stores them" is the default (an explicit dtype equal to the stored one is recorded too: the
    // record holds the arguments, not the checkpoint's contents). The device is not recorded: its
    // default follows the machine, and a GPU's outputs differ from the CPU's within a tolerance,
    // as they differ between batch sizes (docs/experiment.md).
    if (o.cache_dtypes.state == DType::BF16) common_["state_dtype"] = "bf16";
    if (o.cache_dtypes.kv == DType::BF16) common_["kv_dtype"] = "bf16";
    if (!o.dtype.empty()) common_["dtype"] = o.dtype;
    // Opened before any stage loads the model, so that programs start from a small spawner process
    // (eval/sandbox_spawner.h) rather than from a fork of the loaded model.
    if (bench_ == Benchmark::humaneval) {
      HarnessRequest programs = harness_base();
      programs.split = split_name(Split::eval);  // any: the sandbox is the same for every split
      sandbox_.emplace(open_run_sandbox(programs.request()));
    }
  }

  void run() {
    collect_all();
    for (int seed = 1; seed <= o_.seeds; ++seed)
      for (AdapterVariant variant : o_.variants)
        for (const std::string& layers : o_.layers) train(seed, {variant, layers});
    evaluate(false);
    if (o_.pass_k) evaluate(true);
    write_report();
  }

 private:
  // The model, opened when a stage first needs it (a resumed experiment may need none) and then
  // shared by every stage: generation, training (weights are frozen) and evaluation.
  // Each variant's first layer subset: what the alpha sweep, pass@k and the charts cover.
  std::vector<TrainedConfig> main_configs() const {
    std::vector<TrainedConfig> mains;
    for (AdapterVariant variant : o_.variants) mains.push_back({variant, o_.layers.front()});
    return mains;
  }
  bool is_main(const TrainedConfig& c) const {
    const std::vector<TrainedConfig> mains = main_configs();
    return std::find(mains.begin(), mains.end(), c) != mains.end();
  }

  ModelSession& session() {
    if (!session_) session_ = std::make_unique<ModelSession>(o_.model, ops::activated_device(o_.device), matrix_dtype(o_.dtype));
    return *session_;
  }

  // The fields every stage's harness shares, without the model opened.
  HarnessRequest harness_base() const {
    HarnessRequest h;
    h.benchmark = o_.benchmark;
    h.model = o_.model;
    h.generation.max_new_tokens = o_.max_new_tokens;
    h.generation.batch = o_.batch;
    h.generation.eager = o_.eager;
    h.generation.cache_dtypes = o_.cache_dtypes;
    h.workers = o_.workers;
    h.timeout = o_.timeout;
    h.unsafe = o_.unsafe;
    h.quiet = o_.quiet;
    h.sandbox = sandbox_ ? &*sandbox_ : nullptr;
    return h;
  }

  // Set inside a stage's work only, so that a stage the ledger skips opens no model.
  HarnessRequest harness(Split split, const std::string& data) {
    HarnessRequest h = harness_base();
    h.session = &session();
    h.data = data;
    h.split = split_name(split);
    return h;
  }

  // An evaluation's harness: greedy, or (sampled) --pass-k completions per problem at the paper's
  // sampling (each run's sampling seed is its own: evaluate()).
  HarnessRequest eval_harness(bool sampled) {
    HarnessRequest h = harness(Split::eval, eval_data());
    if (!sampled) return h;
    const PaperSampling paper = paper_sampling(bench_);
    h.samples = o_.pass_k;
    h.generation.temperature = paper.temperature;
    h.generation.top_p = paper.top_p;
    return h;
  }

  Json inputs(Json more) const {
    Json j = common_;
    j.update(more);
    return j;
  }
  // A trained configuration's stage inputs: the variant's name is there for every variant but S0,
  // whose records stay those of experiments made before variants existed (so they still resume).
  Json inputs(const TrainedConfig& c, Json more) const {
    if (!c.is_s0()) more["variant"] = variant_name(c.variant);
    return inputs(std::move(more));
  }

  // Stages whose completions one pass of the model generates together (run_together): each stage's
  // name and output, its run (adapter, alpha, sampling seed), what it is made from (asked once the
  // stages before it are written: an adapter's evaluation is made from the base's report), and how
  // it writes its output from its checked run.
  struct TogetherStage {
    std::string name;
    fs::path out;
    AdapterArm arm;
    std::function<Json()> made_from;
    std::function<void(const CompletionFileRun&, const CheckedRun&, const std::string& source)> write;
  };

  // Runs `stages`, in order, from one pass of the model over all their runs, each sequence starting
  // from its own run's adapter and sampling from its own run's seed and stream: one continuous batch
  // holds them all (HumanEval's 84 evaluation problems alone would leave a batch of 256 two-thirds
  // empty). Each stage is then written and recorded on its own. When any is not done, all are
  // generated again, so that every sequence has the same batch whether or not the experiment was
  // interrupted: on a GPU a sequence's logits follow its batch within a tolerance
  // (docs/experiment.md), enough to turn a near-tie. `what` names one stage's kind ("collection").
  void run_together(const std::string& what, const std::function<HarnessRequest()>& make_harness,
                    const std::vector<TogetherStage>& stages) {
    // Each stage's inputs, digested once (an adapter's states are tens of megabytes). One asked while
    // every stage before it is done stays valid: those stages are not written again.
    std::vector<std::optional<Json>> made(stages.size());
    auto made_from = [&](size_t i) -> const Json& {
      if (!made[i]) made[i] = stages[i].made_from();
      return *made[i];
    };
    bool all_done = true;
    for (size_t i = 0; all_done && i < stages.size(); ++i)
      all_done = ledger_.done(stages[i].name, stages[i].out, made_from(i));
    std::vector<CheckedRun> runs;
    std::optional<HarnessRequest> h;
    std::optional<CompletionFileRun> request;
    if (!all_done) {
      h = make_harness();
      request = h->request();
      std::vector<AdapterArm> arms;
      for (const TogetherStage& e : stages) arms.push_back(e.arm);
      std::printf("s0 experiment: generating %zu %s%s together\n", arms.size(), what.c_str(),
                  arms.size() == 1 ? "" : "s");
      std::fflush(stdout);
      const auto start = std::chrono::steady_clock::now();
      runs = h->run_arms(*request, arms);
      std::printf("s0 experiment: generated and checked them in %.1f s\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      std::fflush(stdout);
    }
    for (size_t i = 0; i < stages.size(); ++i)
      ledger_.run(stages[i].name, stages[i].out, made_from(i), [&] {
        if (runs.empty()) fail("internal: ", stages[i].name, " was done, then not");
        fs::create_directories(stages[i].out.parent_path());
        stages[i].write(*request, runs[i], h->source(stages[i].arm));
      });
  }

  // Stage 1, per seed: the seed's training data, sampled from the base model and verified; every
  // seed's in one pass (run_together), the seed being the sampling seed.
  void collect_all() {
    const PaperSampling paper = paper_sampling(bench_);
    std::vector<TogetherStage> stages;
    for (int seed = 1; seed <= o_.seeds; ++seed) {
      const Json made_from = inputs({{"data", file_digest(o_.data)}, {"samples", samples_}, {"seed", seed},
                                     {"temperature", paper.temperature}, {"top_p", paper.top_p}});
      const fs::path out = layout_.training_data(seed);
      TogetherStage stage;
      stage.name = "collect, seed " + std::to_string(seed);
      stage.out = out;
      stage.arm.seed = static_cast<uint64_t>(seed);
      stage.made_from = [made_from] { return made_from; };
      stage.write = [out](const CompletionFileRun& request, const CheckedRun& run, const std::string&) {
        write_training_data(request, run, out);
      };
      stages.push_back(std::move(stage));
    }
    run_together("collection", [&] {
      HarnessRequest h = harness(Split::train, o_.data);
      h.samples = samples_;
      h.generation.temperature = paper.temperature;
      h.generation.top_p = paper.top_p;
      return h;
    }, stages);
  }

  // Stage 2, per seed, variant and layer subset: train (continuing train's own run when one was
  // stopped).
  void train(int seed, const TrainedConfig& c) {
    const fs::path adapter = layout_.adapter(seed, c), log = layout_.train_log(seed, c);
    const Json made_from = inputs(c, {{"data", file_digest(layout_.training_data(seed))}, {"layers", c.layers},
                                      {"seed", seed}, {"steps", o_.steps}, {"lr", o_.lr},
                                      {"normalize", paper_normalize(bench_)}});
    const std::string stage = "train, seed " + std::to_string(seed) + ", " + c.named("layers " + c.layers);
    ledger_.run(stage, adapter, made_from, [&] {
      if (read_training_lines(seed) == 0)
        fail(layout_.training_data(seed).string(), ": no verified solution to train on for seed ", seed,
             " (the base model solved none of the training problems)");
      TrainRequest t;
      t.model = o_.model;
      t.data = layout_.training_data(seed).string();
      t.out = adapter.string();
      t.layers = c.layers;
      t.cfg.variant = c.variant;
      t.cfg.n_steps = o_.steps;
      t.cfg.lr = o_.lr;
      t.cfg.normalize = paper_normalize(bench_);
      t.seed = static_cast<uint64_t>(seed);
      t.loaded = &session().model();
      t.tokenizer = &session().tokenizer();
      t.log_jsonl = log.string();
      t.quiet = o_.quiet;
      // A run stopped mid-training left its optimizer beside the adapter: continue it. One that
      // finished but was stopped before its record was written is complete as it is.
      const int taken = fs::exists(adapter / kOptimizerFile) ? read_optimizer(adapter).adam.t : 0;
      if (taken == o_.steps) return;
      t.resume = taken > 0 && taken < o_.steps;
      t.force = !t.resume && fs::exists(adapter);
      if (!t.resume) fs::remove(log);
      fs::create_directories(adapter.parent_path());
      run_training(t);
    });
  }

  // An evaluation stage: the base model (sampling seed 0) or an adapter of a seed (at an alpha; its
  // seed samples), greedy or sampled, its report compared with the base's.
  TogetherStage eval_stage(const std::string& name, const fs::path& out, const AdapterArm& arm,
                           const std::optional<TrainedConfig>& config, bool sampled) const {
    const fs::path base = layout_.base_report(sampled);
    auto made_from = [this, arm, config, sampled, base] {
      Json more = {{"data", file_digest(eval_data())}, {"samples", sampled ? o_.pass_k : 1}};
      if (!config) return inputs(more);
      more["adapter"] = file_digest(fs::path(arm.adapter) / "states.safetensors");
      more["alpha"] = arm.alpha ? Json(*arm.alpha) : Json(nullptr);
      more["base"] = file_digest(base);
      return inputs(*config, more);
    };
    const std::string baseline = config ? base.string() : "";
    return {name, out, arm, made_from,
            [out, baseline, name](const CompletionFileRun& request, const CheckedRun& run, const std::string& source) {
              write_evaluation(request, source, run, {out, completions_of(out), baseline, name});
            }};
  }
  TogetherStage base_stage(bool sampled) const {
    return eval_stage("evaluate the base model" + samples_note(sampled), layout_.base_report(sampled),
                      {"", std::nullopt, sampled ? std::optional<uint64_t>(0) : std::nullopt}, std::nullopt, sampled);
  }
  TogetherStage tuned_stage(int seed, const TrainedConfig& c, std::optional<double> alpha, bool sampled) const {
    return eval_stage("evaluate seed " + std::to_string(seed) + ", " + c.named("layers " + c.layers) +
                          (alpha ? ", alpha " + ExperimentLayout::alpha_name(*alpha) : "") + samples_note(sampled),
                      layout_.tuned_report(seed, c, alpha, sampled),
                      {layout_.adapter(seed, c).string(), alpha,
                       sampled ? std::optional<uint64_t>(seed) : std::nullopt},
                      c, sampled);
  }

  // Stage 3, once: every greedy evaluation (the base model; each adapter at the family's alpha and
  // at each swept alpha) in one pass (run_together). Stage 4, with --pass-k: the sampled ones (the
  // base model, each main configuration's adapters) in another, at the paper's sampling, each run's
  // sampling seed being its own (the base's: 0).
  void evaluate(bool sampled) {
    std::vector<TogetherStage> stages = {base_stage(sampled)};
    if (sampled) {
      for (const TrainedConfig& c : main_configs())
        for (int seed = 1; seed <= o_.seeds; ++seed) stages.push_back(tuned_stage(seed, c, std::nullopt, true));
    } else {
      for (int seed = 1; seed <= o_.seeds; ++seed)
        for (AdapterVariant variant : o_.variants)
          for (const std::string& layers : o_.layers)
            stages.push_back(tuned_stage(seed, {variant, layers}, std::nullopt, false));
      for (const TrainedConfig& c : main_configs())
        for (double alpha : o_.alphas)
          for (int seed = 1; seed <= o_.seeds; ++seed) stages.push_back(tuned_stage(seed, c, alpha, false));
    }
    run_together(sampled ? "sampled evaluation" : "greedy evaluation", [&] { return eval_harness(sampled); }, stages);
  }

  std::string samples_note(bool sampled) const {
    return sampled ? ", " + std::to_string(o_.pass_k) + " samples per problem" : "";
  }

  // Last: report.md and its charts, rebuilt from the stages' files every time (cheap).
  void write_report() {
    ExperimentSummary s;
    s.benchmark = benchmark_name(bench_);
    s.model = o_.model;
    s.base_report = load_json_file(layout_.base_report());
    SweepTable by_layers{"Layer subsets (alpha: the family's default)", "layers", {}, Json()};
    for (AdapterVariant variant : o_.variants)
      for (const std::string& layers : o_.layers) {
        const TrainedConfig c{variant, layers};
        by_layers.rows.push_back(config_runs(c.named(layers), c, std::nullopt));
        if (is_main(c))
          for (int seed = 1; seed <= o_.seeds; ++seed) by_layers.rows.back().training.push_back(training_of(seed, c));
      }
    s.tables.push_back(by_layers);
    if (!o_.alphas.empty()) {
      SweepTable by_alpha{"Alpha sweep (layers " + o_.layers.front() + ")", "alpha", {}, Json()};
      for (const TrainedConfig& c : main_configs())
        for (double alpha : o_.alphas)
          by_alpha.rows.push_back(config_runs(c.named(ExperimentLayout::alpha_name(alpha)), c, alpha));
      s.tables.push_back(by_alpha);
    }
    if (o_.pass_k) {
      const PaperSampling paper = paper_sampling(bench_);
      char title[200];
      std::snprintf(title, sizeof title,
                    "pass@k from %lld samples per problem (temperature %g, top-p %g; layers %s; the base sampled once)",
                    static_cast<long long>(o_.pass_k), paper.temperature, paper.top_p, o_.layers.front().c_str());
      SweepTable by_k{title, "metric", {}, load_json_file(layout_.base_report(true))};
      for (const TrainedConfig& c : main_configs())
        for (int64_t k : {1, 5, 10})
          if (k <= o_.pass_k) {
            const std::string metric = "pass@" + std::to_string(k);
            by_k.rows.push_back(config_runs(c.named(metric), c, std::nullopt, true));
            by_k.rows.back().metric = metric;
          }
      s.tables.push_back(by_k);
    }
    for (const auto& [name, svg] : report_charts(s)) write_file_atomic(layout_.out / name, svg);
    write_file_atomic(layout_.out / "report.md", report_markdown(s));
    std::cout << "s0 experiment: report in " << (layout_.out / "report.md").string() << "\n";
  }

  ConfigRuns config_runs(const std::string& name, const TrainedConfig& c, std::optional<double> alpha,
                         bool sampled = false) const {
    ConfigRuns row{name, {}};
    for (int seed = 1; seed <= o_.seeds; ++seed)
      row.runs.push_back(
          {seed, read_training_lines(seed), load_json_file(layout_.tuned_report(seed, c, alpha, sampled))});
    return row;
  }

  SeedTraining training_of(int seed, const TrainedConfig& c) const {
    SeedTraining t;
    t.seed = seed;
    // A resumed run appends to its log: a step logged twice counts once, as last written.
    std::map<int, double> loss;
    for_each_json_line(layout_.train_log(seed, c), [&](const Json& row, const std::string& origin) {
      loss[static_cast<int>(json_number(row, "step", origin))] = json_number(row, "loss", origin);
    });
    for (const auto& [step, l] : loss) {
      t.steps.push_back(step);
      t.losses.push_back(l);
    }
    const AdapterFile a = read_adapter(layout_.adapter(seed, c));
    for (int64_t layer : a.trained_layers.empty() ? a.layers : a.trained_layers) {
      const Tensor& st = a.states.at(layer);
      t.state_norms[layer] = std::sqrt(sum_of_squares(st.f32(), st.numel()));
    }
    return t;
  }

  size_t read_training_lines(int seed) const {
    return for_each_json_line(layout_.training_data(seed), [](const Json&, const std::string&) {});
  }
  const std::string& eval_data() const { return o_.eval_data.empty() ? o_.data : o_.eval_data; }
  static fs::path completions_of(const fs::path& report) {
    fs::path p = report;
    return p.replace_extension(".completions.jsonl");
  }

  const ExperimentOptions& o_;
  ExperimentLayout layout_;
  StageLedger ledger_;
  Benchmark bench_;
  int64_t samples_ = 0;
  Json common_;
  std::optional<Sandbox> sandbox_;  // HumanEval's, opened before the model
  std::unique_ptr<ModelSession> session_;
};

}  // namespace

void run_experiment(const ExperimentOptions& o) {
  std::vector<std::string> variants;
  for (AdapterVariant v : o.variants) variants.push_back(variant_name(v));
  check_repeatable(variants, "--variant");
  check_repeatable(o.layers, "--layers");
  const fs::path out = normalize_output_path(o.out);
  refuse_overlap({"--out", out}, {{"--model", o.model}, {"--data", o.data}, {"--eval-data", o.eval_data}});
  const bool has_files = fs::exists(out) && (!fs::is_directory(out) || !fs::is_empty(out));
  if (fs::exists(out) && !fs::is_directory(out)) fail("--out ", out.string(), ": not a folder");
  if (has_files && !o.resume)
    fail("--out ", out.string(),
         " already holds files: pass --resume to continue that experiment, or use a new folder");
  if (o.resume && !has_files) fail("--resume: ", out.string(), ": no experiment to resume");
  const OutputLock lock = OutputLock::acquire(out);
  Experiment(o).run();
}

}  // namespace s0
