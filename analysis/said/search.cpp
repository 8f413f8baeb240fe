#include "analysis/said/search.h"

#include <limits>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/util/error.h"
#include "models/util/files.h"
#include "models/util/spec.h"

namespace ps::said {

std::vector<int64_t> geometric_ds(int64_t max_d) {
  std::vector<int64_t> out;
  for (int64_t p = 10; p <= max_d; p *= 10) {
    out.push_back(p);
    if (3 * p <= max_d) out.push_back(3 * p);
  }
  return out;
}

std::vector<int64_t> parse_ds(const std::string& text) {
  std::vector<int64_t> out;
  if (!text.empty() && text.back() == ',') throw InputError("--d: '" + text + "' ends with a comma");
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int64_t v = 0;
    if (!spec::try_int(item, v) || v < 1)
      throw InputError("--d: '" + item + "' is not a positive integer (expected e.g. 10,100,1000)");
    out.push_back(v);
  }
  if (out.empty()) throw InputError("--d: empty list");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

double metric(const RunResult& r) { return r.best_valid_acc; }

}  // namespace

SweepResult sweep(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                  const SweepOptions& opt, const SweepHooks& hooks) {
  if (opt.run.mode == Mode::Full) throw InputError("--mode: the sweep runs said or did (full is the baseline)");
  if (opt.search_d90 && !opt.run_full) throw InputError("--search d90 needs the full fine-tuning baseline");
  SweepResult res;
  bool reused = false;  // of the latest run
  auto run = [&](Mode mode, int64_t d) {
    reused = false;
    if (hooks.reuse)
      if (auto r = hooks.reuse(mode, d)) {
        reused = true;
        return *r;
      }
    FinetuneOptions o = opt.run;
    o.mode = mode;
    o.d = d;
    if (mode == Mode::Full) o.lr = opt.full_lr;
    const std::string label = mode == Mode::Full ? "full fine-tuning" : std::string(mode_name(mode)) + " d=" + std::to_string(d);
    auto progress = hooks.progress ? hooks.progress(label, o.steps) : nullptr;
    RunResult r = finetune(model, data, o, progress.get());
    if (progress) progress->finish();
    if (r.cancelled) res.cancelled = true;
    return r;
  };
  // After the run is in `res`, so the observer sees it in the result so far.
  auto finished = [&](const RunResult& r, const char* phase) {
    if (hooks.on_run) hooks.on_run(r, phase, res, reused);
  };
  auto reaches = [&](const RunResult& r) { return res.full && metric(r) >= res.threshold; };

  if (opt.run_full) {
    res.full = run(Mode::Full, 0);
    res.threshold = opt.target * metric(*res.full);
    finished(*res.full, "full");
    if (res.cancelled) return res;
  }
  std::vector<int64_t> ds = opt.ds;
  if (ds.empty()) {
    if (!opt.search_d90) throw InputError("--d: give the values of d to run (or --search d90)");
    int64_t max_d = opt.max_d;
    if (max_d <= 0) max_d = res.full ? res.full->theta_size : 100000;
    ds = geometric_ds(max_d);
    if (ds.empty()) throw InputError("--max-d: " + std::to_string(max_d) + " leaves no d >= 10 to sweep");
  }
  std::sort(ds.begin(), ds.end());
  int64_t lo = 0, hi = 0;
  for (int64_t d : ds) {
    const auto& r = res.runs.emplace_back(run(opt.run.mode, d));
    finished(r, "sweep");
    if (res.cancelled) return res;
    if (!opt.search_d90) continue;
    if (reaches(r)) {
      hi = d;
      break;
    }
    lo = d;
  }
  if (opt.search_d90 && hi > 0) {
    for (int64_t k = 0; k < opt.max_bisect; ++k) {
      if (hi - lo <= std::max<int64_t>(1, int64_t(opt.tolerance * double(lo)))) break;
      const int64_t mid = lo == 0 ? hi / 2 : int64_t(std::llround(std::sqrt(double(lo) * double(hi))));
      if (mid <= lo || mid >= hi) break;
      const auto& r = res.runs.emplace_back(run(opt.run.mode, mid));
      finished(r, "bisect");
      if (res.cancelled) return res;
      (reaches(r) ? hi : lo) = mid;
    }
  }
  if (res.full) {
    for (const auto& r : res.runs)
      if (reaches(r) && (!res.d90 || r.d < *res.d90)) res.d90 = r.d;
    for (const auto& r : res.runs)
      if (!reaches(r) && (!res.d90 || r.d < *res.d90)) res.d90_below = std::max(res.d90_below, r.d);
  }
  return res;
}

std::string curve_csv(const SweepResult& r) {
  std::ostringstream o;
  o.precision(6);
  o << "mode,d,trainable,theta_size,valid_acc,best_valid_acc,initial_valid_acc,train_loss,steps,seconds_per_step,"
       "reaches_target\n";
  auto row = [&](const RunResult& x) {
    const bool reach = r.full && x.best_valid_acc >= r.threshold;
    o << mode_name(x.mode) << ',' << x.d << ',' << x.trainable << ',' << x.theta_size << ',' << x.valid_acc << ','
      << x.best_valid_acc << ',' << x.initial_valid_acc << ',' << x.train_loss << ',' << x.steps << ','
      << x.seconds_per_step << ',' << (r.full ? (reach ? "1" : "0") : "") << '\n';
  };
  if (r.full) row(*r.full);
  for (const auto& x : r.runs) row(x);
  return o.str();
}

nlohmann::json run_json(const RunResult& r) {
  nlohmann::json evals = nlohmann::json::array();
  for (const auto& [s, a] : r.evals) evals.push_back({{"step", s}, {"valid_acc", a}});
  return {{"mode", mode_name(r.mode)}, {"d", r.d},
          {"trainable", r.trainable}, {"theta_size", r.theta_size},
          {"valid_acc", r.valid_acc}, {"best_valid_acc", r.best_valid_acc},
          {"initial_valid_acc", r.initial_valid_acc}, {"train_loss", r.train_loss},
          {"steps", r.steps}, {"cancelled", r.cancelled},
          {"seconds", r.seconds}, {"seconds_per_step", r.seconds_per_step},
          {"evals", evals}};
}

RunResult run_from_json(const nlohmann::json& j) {
  RunResult r;
  r.mode = mode_from_name(j.at("mode").get<std::string>());
  r.d = j.at("d"), r.trainable = j.at("trainable"), r.theta_size = j.at("theta_size");
  r.valid_acc = j.at("valid_acc"), r.best_valid_acc = j.at("best_valid_acc");
  r.initial_valid_acc = j.at("initial_valid_acc"), r.train_loss = j.at("train_loss");
  r.steps = j.at("steps"), r.cancelled = j.at("cancelled");
  r.seconds = j.at("seconds"), r.seconds_per_step = j.at("seconds_per_step");
  for (const auto& e : j.at("evals")) r.evals.emplace_back(e.at("step").get<int64_t>(), e.at("valid_acc").get<double>());
  return r;
}

nlohmann::json sweep_json(const SweepResult& r, const SweepOptions& opt) {
  nlohmann::json j;
  const auto& o = opt.run;
  j["config"] = {{"mode", mode_name(o.mode)}, {"head", head_name(o.head)}, {"pool", pool_name(o.pool)},
                 {"steps", o.steps}, {"batch", o.batch}, {"lr", o.lr}, {"full_lr", opt.full_lr},
                 {"seed", o.seed}, {"eval_every", o.eval_every}, {"target", opt.target},
                 {"search_d90", opt.search_d90},
                 {"d_counts", o.head == Head::Projected
                                  ? "theta_d only; the head is trained through the projection"
                                  : "theta_d only; the head is trained directly (see trainable)"}};
  j["full"] = r.full ? run_json(*r.full) : nlohmann::json(nullptr);
  j["runs"] = nlohmann::json::array();
  for (const auto& x : r.runs) j["runs"].push_back(run_json(x));
  j["threshold"] = r.full ? nlohmann::json(r.threshold) : nlohmann::json(nullptr);
  j["d90"] = r.d90 ? nlohmann::json(*r.d90) : nlohmann::json(nullptr);
  j["d90_below"] = r.d90_below;
  j["cancelled"] = r.cancelled;
  return j;
}

void write_sweep(const std::string& dir, const SweepResult& r, const SweepOptions& opt, const nlohmann::json& meta) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw RuntimeError(dir + ": cannot create the output directory (" + ec.message() + ")");
  auto j = sweep_json(r, opt);
  for (const auto& [k, v] : meta.items()) j[k] = v;
  write_file_atomic(dir + "/curve.csv", curve_csv(r));
  write_file_atomic(dir + "/said.json", j.dump(2) + "\n");
}

}  // namespace ps::said
