#include "analysis/said/study.h"

#include <map>
#include <utility>

#include "models/util/files.h"
#include "models/util/sha256.h"

namespace ps::said {

namespace {

std::string data_sha256(const TaskData& data) {
  Sha256 h;
  auto add = [&](const std::string& s) { h.update(s.data(), s.size() + 1); };  // with the NUL: unambiguous
  add(data.task);
  for (const auto& c : data.classes) add(c);
  for (const auto* split : {&data.train, &data.valid}) {
    add("split");
    for (const auto& x : *split) {
      add(x.id);
      h.update(&x.label, sizeof x.label);
      h.update(x.ids.data(), x.ids.size() * sizeof(int64_t));
      add("");
    }
  }
  return h.hex_digest();
}

using RunKey = std::pair<Mode, int64_t>;

// The finished runs of an earlier study with the same identity (none for another study, or no file).
std::map<RunKey, RunResult> finished_runs(const std::string& dir, const nlohmann::json& identity) {
  std::map<RunKey, RunResult> out;
  const std::string path = dir + "/said.json";
  if (!file_exists(path)) return out;
  const auto j = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("resume") || j["resume"].dump() != identity.dump()) return out;
  auto take = [&](const nlohmann::json& x) {
    if (x.is_null()) return;
    const RunResult r = run_from_json(x);
    if (!r.cancelled) out[{r.mode, r.d}] = r;
  };
  take(j.value("full", nlohmann::json()));
  for (const auto& x : j.value("runs", nlohmann::json::array())) take(x);
  return out;
}

}  // namespace

nlohmann::json study_identity(const TaskData& data, const SweepOptions& opt, const nlohmann::json& meta) {
  const auto& o = opt.run;
  nlohmann::json m = meta;
  m.erase("threads");  // a requeued job may land on another node; results are the same up to rounding
  m.erase("complete");
  return {{"run", {{"mode", mode_name(o.mode)}, {"head", head_name(o.head)}, {"pool", pool_name(o.pool)},
                   {"steps", o.steps}, {"batch", o.batch}, {"lr", o.lr}, {"scale_lr", o.scale_lr},
                   {"seed", o.seed}, {"eval_every", o.eval_every}, {"eval_batch", o.eval_batch}}},
          {"full_lr", opt.full_lr}, {"ds", opt.ds}, {"run_full", opt.run_full}, {"search_d90", opt.search_d90},
          {"target", opt.target}, {"max_d", opt.max_d}, {"max_bisect", opt.max_bisect},
          {"tolerance", opt.tolerance}, {"data_sha256", data_sha256(data)}, {"meta", m}};
}

SweepResult run_study(const std::shared_ptr<const models::Transformer>& model, const TaskData& data,
                      const SweepOptions& opt, const std::string& dir, const nlohmann::json& meta,
                      const SweepHooks& hooks) {
  const nlohmann::json identity = study_identity(data, opt, meta);
  auto write = [&](const SweepResult& r, bool complete) {
    auto m = meta;
    m["complete"] = complete;
    m["resume"] = identity;
    write_sweep(dir, r, opt, m);
  };
  const auto done = finished_runs(dir, identity);
  // Nothing to resume: replace any older files at once, so none of another study's looks like this one's.
  if (done.empty()) write(SweepResult{}, false);

  SweepHooks h = hooks;
  h.reuse = [&](Mode mode, int64_t d) -> std::optional<RunResult> {
    const auto it = done.find({mode, d});
    if (it == done.end()) return std::nullopt;
    return it->second;
  };
  h.on_run = [&](const RunResult& r, const std::string& phase, const SweepResult& so_far, bool reused) {
    // A reused run is already on disk, and so is every run after it: rewriting the shorter prefix now
    // would lose those if the process were killed before the next new run.
    if (!reused) write(so_far, false);
    if (hooks.on_run) hooks.on_run(r, phase, so_far, reused);
  };
  const SweepResult res = sweep(model, data, opt, h);
  write(res, !res.cancelled);
  return res;
}

}  // namespace ps::said
