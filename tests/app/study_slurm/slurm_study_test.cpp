// `probescope study run --executor slurm` on a real single-node Slurm (tests/common/slurm_cluster.h): a tiny
// study (a 4-shard extract array, the merge, a probe array sliced with --task i/N, the collect) ends with the
// same store and collected results as `--executor local`; an extract task requeued while running resumes and
// the store is unchanged; a task made to fail is reported with its log and its dependants end cancelled.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/slurm/command.h"
#include "app/slurm/job_state.h"
#include "models/util/files.h"
#include "tests/common/scratch.h"
#include "tests/common/slurm_cluster.h"
#include "tests/data/extract/extract_fixture.h"

extern char** environ;

namespace {
namespace fs = std::filesystem;
using ps::test::SlurmCluster;
using Clock = std::chrono::steady_clock;

// The study: 4 extract shards of one tiny GPT-2 over 160 Python functions, their merge, an AST-Probe sweep of
// every layer x 2 seeds cut into 2 task slices, and the collect.
std::string write_study(const fs::path& dir, int functions, const std::string& slurm_extra = "") {
  fs::create_directories(dir);
  const std::string corpus = ps::extract::testing::write_corpus(dir.string(), functions);
  std::ofstream f(dir / "study.toml");
  f << "[study]\nname = \"slurm-test\"\n\n"
    << "[[model]]\nname = \"tiny\"\npath = \"" << ps::extract::testing::tiny_model_dir() << "\"\n\n"
    << "[[corpus]]\nlanguage = \"python\"\npath = \"" << corpus << "\"\nsplits = \"\"\n\n"
    << "[extract]\nstore_dtype = \"float32\"\ndtype = \"float32\"\nshards = 4\ntoken_budget = 256\n\n"
    << "[[probe]]\nname = \"layers\"\nkind = \"ast\"\nk = [8]\nseeds = [1, 2]\nepochs = 2\nsteps_per_epoch = 4\n"
    << "batch_size = 8\ntasks = 2\n\n"
    << "[slurm]\npoll_seconds = \"0.3\"\n" << slurm_extra;
  return (dir / "study.toml").string();
}

// probescope with stdout and stderr to `log` and `env` (NAME, value) added to its environment; returns the pid.
pid_t spawn_probescope(const std::vector<std::string>& args, const fs::path& log,
                       const std::vector<std::pair<std::string, std::string>>& env = {}) {
  std::vector<std::string> all = {ps::extract::testing::probescope_path()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int run_probescope(const std::vector<std::string>& args, const fs::path& log) {
  return wait_exit(spawn_probescope(args, log));
}

std::string slurp(const fs::path& p) { return ps::file_exists(p.string()) ? ps::read_file(p.string()) : ""; }

nlohmann::json plan_json(const fs::path& dir) { return nlohmann::json::parse(slurp(dir / "plan.json")); }

// Every task's output (path relative to the store) for the plan in `dir`, by task id.
std::map<std::string, nlohmann::json> tasks_by_id(const fs::path& dir) {
  std::map<std::string, nlohmann::json> m;
  const nlohmann::json plan = plan_json(dir);
  for (const auto& st : plan["stages"])
    for (const auto& t : st["tasks"]) m[t["id"].get<std::string>()] = t;
  return m;
}

// The files under `root` (relative path -> bytes), skipping logs, locks and state that name hosts or times.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), root).string();
    const std::string name = e.path().filename().string();
    if (name == ".lock" || name.size() > 4 && name.substr(name.size() - 4) == ".log") continue;
    files[rel] = slurp(e.path());
  }
  return files;
}

#define SKIP_WITHOUT_SLURM()                                                            \
  do {                                                                                  \
    if (auto why = SlurmCluster::missing_binaries(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

}  // namespace

namespace {

// A CSV without the columns that differ by nature between two runs: wall times and the store's path.
std::string without_times_and_paths(const std::string& csv) {
  std::istringstream in(csv);
  std::vector<bool> keep;
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream cs(line);
    for (std::string c; std::getline(cs, c, ',');) cells.push_back(c);
    if (keep.empty())
      for (const auto& name : cells) keep.push_back(name.rfind("seconds", 0) != 0 && name != "store");
    for (size_t i = 0; i < cells.size(); ++i)
      if (i >= keep.size() || keep[i]) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

// The collected CSVs (every probe grid cell's metrics, means and spreads over seeds) of the plan in `dir`.
std::map<std::string, std::string> collected_csvs(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& [id, t] : tasks_by_id(dir)) {
    if (t["stage"] != "collect") continue;
    for (const auto& [rel, bytes] : tree(t["output_dir"].get<std::string>()))
      if (rel.size() > 4 && rel.substr(rel.size() - 4) == ".csv") out[id + ":" + rel] = without_times_and_paths(bytes);
  }
  return out;
}

// The merged store's contents (ids, tokens, words, labels, activation bytes; no manifest times).
std::string merged_store(const fs::path& dir) {
  for (const auto& [id, t] : tasks_by_id(dir))
    if (t["stage"] == "merge") return ps::extract::testing::dump_store(t["output"].get<std::string>(), true);
  ADD_FAILURE() << "no merge task in " << dir;
  return "";
}

// Polls `pred` every 100 ms for up to `timeout_s` (a guard against a hang, not a timing check).
template <class F>
bool eventually(F pred, double timeout_s) {
  auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(SlurmStudy, MatchesLocalAndAnExtractRequeuedWhileRunningResumes) {
  SKIP_WITHOUT_SLURM();
  const auto t0 = Clock::now();
  const fs::path dir = ps::test::scratch_dir();
  SlurmCluster cluster(dir / "cluster");
  cluster.export_env();
  const std::string study = write_study(dir / "in", 240);

  // The reference: the same study with local processes, one thread per task as on Slurm (1 CPU per task).
  ASSERT_EQ(run_probescope({"study", "run", study, "--out", (dir / "local").string(), "--executor", "local",
                            "--jobs", "2", "--threads", "2"}, dir / "local.log"), 0)
      << slurp(dir / "local.log");

  const double local_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const fs::path sdir = dir / "slurm";
  // The plan first, for extract shard 0's store path: that task is held after its first commit (the fault hook
  // PROBESCOPE_HOLD_EXTRACT) and requeued there, so it is interrupted at a partial store every time rather
  // than whenever the poll happens to catch it running (on a fast machine it finished first).
  ASSERT_EQ(run_probescope({"study", "plan", study, "--out", sdir.string()}, dir / "plan.log"), 0) << slurp(dir / "plan.log");
  const auto tasks = tasks_by_id(sdir);
  const nlohmann::json* shard0 = nullptr;
  for (const auto& [id, t] : tasks)
    if (t["stage"] == "extract" && t["index"] == 0) shard0 = &t;
  ASSERT_NE(shard0, nullptr);
  const fs::path shard_out = (*shard0)["output"].get<std::string>();
  const fs::path shard_log = (*shard0)["log"].get<std::string>();
  pid_t run = spawn_probescope({"study", "run", study, "--out", sdir.string(), "--executor", "slurm"}, dir / "slurm.log",
                               {{"PROBESCOPE_HOLD_EXTRACT", shard_out.string()}});
  ASSERT_TRUE(eventually([&] { return fs::exists(sdir / "slurm" / "jobs.tsv"); }, 60)) << slurp(dir / "slurm.log");
  std::string extract_job;
  ASSERT_TRUE(eventually([&] {  // jobs.tsv: stage, chunk, offset, size, job_id, script
    std::istringstream in(slurp(sdir / "slurm" / "jobs.tsv"));
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, '\t');) f.push_back(x);
      if (f.size() == 6 && f[0] == "extract" && f[1] == "0") extract_job = f[4];
    }
    return !extract_job.empty();
  }, 60)) << slurp(sdir / "slurm" / "jobs.tsv");
  const std::string task0 = extract_job + "_0";
  ASSERT_TRUE(eventually([&] { return fs::exists(shard_log) && slurp(shard_log).find("holding") != std::string::npos; }, 180))
      << "extract task 0 never reached its first commit: " << slurp(dir / "slurm.log") << (fs::exists(shard_log) ? slurp(shard_log) : "");
  auto rq = cluster.run({"scontrol", "requeue", task0});
  ASSERT_EQ(rq.rc, 0) << rq.err;
  // A requeued job is held back (BeginTime about 2 min ahead) unless told to start now. The requeue lands
  // asynchronously (an update sent while the job still runs is lost), so update once it is pending on it.
  ASSERT_TRUE(eventually([&] {
    auto q = cluster.run({"squeue", "-h", "-j", task0, "-o", "%T %r"});
    if (q.out.rfind("PENDING BeginTime", 0) == 0) cluster.run({"scontrol", "update", "JobId=" + task0, "StartTime=now"});
    return q.out.rfind("RUNNING", 0) == 0 || q.out.rfind("COMPLETED", 0) == 0;
  }, 60)) << "the requeued task never started again";

  ASSERT_EQ(wait_exit(run), 0) << slurp(dir / "slurm.log");
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("slurm study test: %.1f s in all (cluster start %.2f s, the local reference run to %.1f s)\n", wall,
              cluster.start_seconds(), local_s);

  // Requeued once, resumed from what it had committed, and the merged store is what the local run made.
  auto show = cluster.run({"scontrol", "show", "job", task0});
  EXPECT_NE(show.out.find("Restarts=1"), std::string::npos) << show.out;
  const std::string log0 = slurp((*shard0)["log"].get<std::string>());
  EXPECT_NE(log0.find("resuming"), std::string::npos) << log0;
  EXPECT_EQ(merged_store(sdir), merged_store(dir / "local"));
  const auto local_csv = collected_csvs(dir / "local"), slurm_csv = collected_csvs(sdir);
  EXPECT_FALSE(local_csv.empty());
  EXPECT_EQ(slurm_csv, local_csv);

  // The scripts are kept; status shows every task done, with its Slurm job.
  EXPECT_TRUE(fs::exists(sdir / "slurm" / "extract.0.sbatch"));
  EXPECT_TRUE(fs::exists(sdir / "slurm" / "submit.sh"));
  ASSERT_EQ(run_probescope({"study", "status", sdir.string()}, dir / "status.log"), 0) << slurp(dir / "status.log");
  const std::string status = slurp(dir / "status.log");
  EXPECT_NE(status.find("[" + task0 + "]"), std::string::npos) << status;
  EXPECT_EQ(status.find("failed"), std::string::npos) << status;
}

TEST(SlurmStudy, AFailedTaskIsReportedWithItsLogAndItsDependantsEndCancelled) {
  SKIP_WITHOUT_SLURM();
  const fs::path dir = ps::test::scratch_dir();
  SlurmCluster cluster(dir / "cluster");
  cluster.export_env();
  // Arrays of at most 3 tasks: the 4 extract shards become two array jobs (indices 0-2, then 3 at offset 3).
  const std::string study = write_study(dir / "in", 80, "max_array_size = 3\n");
  const fs::path sdir = dir / "slurm";
  ASSERT_EQ(run_probescope({"study", "plan", study, "--out", sdir.string()}, dir / "plan.log"), 0) << slurp(dir / "plan.log");
  // Planted failure: a directory where extract shard 2 must write its store file.
  std::string failing_id, failing_log;
  for (const auto& [id, t] : tasks_by_id(sdir))
    if (t["stage"] == "extract" && t["index"] == 2) {
      failing_id = id;
      failing_log = t["log"].get<std::string>();
      fs::create_directories(t["output"].get<std::string>());
    }
  ASSERT_FALSE(failing_id.empty());

  // --dry-run writes the scripts and the chain, submits nothing.
  ASSERT_EQ(run_probescope({"study", "run", study, "--out", sdir.string(), "--executor", "slurm", "--dry-run"},
                           dir / "dry.log"), 0)
      << slurp(dir / "dry.log");
  for (const char* f : {"extract.0.sbatch", "merge.0.sbatch", "probe.layers.0.sbatch", "collect.0.sbatch", "submit.sh"})
    EXPECT_TRUE(fs::exists(sdir / "slurm" / f)) << f;
  EXPECT_NE(slurp(sdir / "slurm" / "extract.0.sbatch").find("#SBATCH --array=0-2\n"), std::string::npos);
  EXPECT_NE(slurp(sdir / "slurm" / "extract.1.sbatch").find("#SBATCH --array=0-0\n"), std::string::npos);
  EXPECT_NE(slurp(sdir / "slurm" / "extract.1.sbatch").find("index=$((SLURM_ARRAY_TASK_ID + 3))"), std::string::npos);
  EXPECT_NE(slurp(sdir / "slurm" / "submit.sh").find("--dependency=afterok:${job_extract_0}:${job_extract_1}"), std::string::npos)
      << slurp(sdir / "slurm" / "submit.sh");
  EXPECT_EQ(cluster.run({"squeue", "-h", "-t", "all"}).out, "") << "a dry run submitted jobs";

  const int rc = run_probescope({"study", "run", study, "--out", sdir.string(), "--executor", "slurm"}, dir / "run.log");
  const std::string out = slurp(dir / "run.log");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("failed: " + failing_id), std::string::npos) << out;
  EXPECT_NE(out.find(failing_log), std::string::npos) << out;
  EXPECT_FALSE(slurp(failing_log).empty());

  // Every task after the extract stage was cancelled by Slurm (afterok never satisfied), none ran.
  ASSERT_EQ(run_probescope({"study", "status", sdir.string()}, dir / "status.log"), 0) << slurp(dir / "status.log");
  const std::string status = slurp(dir / "status.log");
  int dependants = 0;
  for (const auto& [id, t] : tasks_by_id(sdir)) {
    if (t["stage"] == "extract") continue;
    ++dependants;
    std::istringstream in(status);
    bool found = false;
    for (std::string line; std::getline(in, line);)
      if (line.find(id) != std::string::npos) {
        found = true;
        EXPECT_NE(line.find("cancelled"), std::string::npos) << line;
      }
    EXPECT_TRUE(found) << id << " not in\n" << status;
    EXPECT_FALSE(fs::exists(t["output_dir"].get<std::string>() + "/.done")) << id;
  }
  EXPECT_GE(dependants, 4) << "merge, 2 probe slices and collect";
}

}  // namespace
