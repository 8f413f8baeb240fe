#include "models/train/run_dir.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "models/train/hf_checkpoint.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::train {

namespace fs = std::filesystem;

std::string step_dir_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%06lld", static_cast<long long>(step));
  return buf;
}

namespace {
// "step-000500" -> 500; -1 for anything else.
int64_t parse_step(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() < 11) return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}
}  // namespace

std::string save_checkpoint(const std::string& dir, int64_t step, const CheckpointContents& c) {
  const std::string final_dir = dir + "/" + step_dir_name(step);
  const std::string tmp = final_dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw RuntimeError(tmp + ": cannot create directory: " + ec.message());
  write_file_atomic(tmp + "/config.json", c.config_json);
  write_file_atomic(tmp + "/tokenizer.json", c.tokenizer_json);
  write_hf_weights(tmp + "/model.safetensors", *c.arch, *c.params, at::kFloat);
  write_safetensors(tmp + "/optimizer.safetensors", c.optimizer, at::kFloat);
  write_file_atomic(tmp + "/train_log.csv", c.train_log);
  write_file_atomic(tmp + "/valid_log.csv", c.valid_log);
  if (c.write_extra) c.write_extra(tmp);
  write_file_atomic(tmp + "/trainer_state.json", c.state.dump(2) + "\n");  // last: marks it complete
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) throw RuntimeError(final_dir + ": cannot move the checkpoint into place: " + ec.message());
  return final_dir;
}

std::vector<int64_t> list_checkpoints(const std::string& dir) {
  std::vector<int64_t> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const int64_t s = parse_step(e.path().filename().string());
    if (s >= 0 && fs::exists(e.path() / "trainer_state.json", ec)) out.push_back(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_checkpoints(const std::string& dir, const std::vector<int64_t>& keep, int64_t keep_last) {
  const auto all = list_checkpoints(dir);
  const std::set<int64_t> protect(keep.begin(), keep.end());
  std::error_code ec;
  int64_t recent = 0;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (protect.count(*it)) continue;
    if (recent++ < keep_last) continue;
    fs::remove_all(dir + "/" + step_dir_name(*it), ec);
  }
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0 && parse_step(n.substr(0, n.size() - 4)) >= 0)
      fs::remove_all(e.path(), ec);
  }
}

void CsvLog::load(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != header_)
    throw InputError(source + ": expected the header '" + header_ + "'");
  rows_.clear();
  while (std::getline(in, line))
    if (!line.empty()) rows_.push_back(line);
}

std::string CsvLog::text() const {
  std::string s = header_ + "\n";
  for (const auto& r : rows_) s += r + "\n";
  return s;
}

}  // namespace ps::train
