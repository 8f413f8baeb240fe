// ps_slurm without a cluster: chunking, script text, sbatch output and squeue/sacct line parsing.
#include <gtest/gtest.h>

#include "app/slurm/job_state.h"
#include "app/slurm/sbatch.h"
#include "models/util/error.h"

namespace ps::slurm {
namespace {

TEST(SlurmChunks, CoverEveryIndexOnceUnderMaxArraySize) {
  EXPECT_TRUE(chunk_tasks(0, 3).empty());
  auto c = chunk_tasks(7, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].offset, 0);
  EXPECT_EQ(c[0].size, 3);
  EXPECT_EQ(c[1].offset, 3);
  EXPECT_EQ(c[2].offset, 6);
  EXPECT_EQ(c[2].size, 1);
  EXPECT_EQ(chunk_tasks(6, 3).size(), 2u);
  EXPECT_EQ(chunk_tasks(1, 1001).size(), 1u);
  EXPECT_THROW(chunk_tasks(4, 0), InputError);
}

TEST(SlurmScript, HasTheArrayRequeueSignalAndOffsetIndex) {
  StageArray st;
  st.stage = "extract";
  st.tasks = 5;
  st.command = {"/opt/ps/probescope", "study", "exec-task", "/runs/my study", "--stage", "extract", "--index"};
  st.log_dir = "/runs/my study/slurm/log";
  st.task_log = "/runs/my study/logs/extract.{index}.log";
  st.cpus_per_task = 4;
  st.extra = {"--partition=cpu"};
  std::string s = render_script(st, Chunk{3, 2}, 1, 2);
  for (const char* want : {"#!/bin/bash\n", "#SBATCH --array=0-1\n", "#SBATCH --cpus-per-task=4\n",
                           "#SBATCH --requeue\n", "#SBATCH --signal=B:TERM@120\n", "#SBATCH --partition=cpu\n",
                           "#SBATCH --job-name=ps-extract\n", "index=$((SLURM_ARRAY_TASK_ID + 3))\n",
                           "export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n",
                           "exec /opt/ps/probescope study exec-task '/runs/my study' --stage extract --index \"$index\"\n",
                           "exec >>'/runs/my study/logs/extract.'\"$index\".log 2>&1\n"})
    EXPECT_NE(s.find(want), std::string::npos) << want << "\n---\n" << s;
  EXPECT_EQ(s.find("--wait"), std::string::npos);
  EXPECT_EQ(script_name("probe", 2), "probe.2.sbatch");
}

TEST(SlurmScript, SubmitChainsAfterOkAndKillsOnInvalidDependency) {
  auto a = submit_argv("x.sbatch", {});
  EXPECT_EQ(a, (std::vector<std::string>{"sbatch", "--parsable", "x.sbatch"}));
  auto b = submit_argv("y.sbatch", {"12", "13"});
  EXPECT_EQ(b, (std::vector<std::string>{"sbatch", "--parsable", "--dependency=afterok:12:13",
                                         "--kill-on-invalid-dep=yes", "y.sbatch"}));
  EXPECT_EQ(parse_submitted_id("4711\n"), "4711");
  EXPECT_EQ(parse_submitted_id("4711;cluster\n"), "4711");
  EXPECT_THROW(parse_submitted_id("sbatch: error: x\n"), RuntimeError);
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST(SlurmStates, ClassifyTheNamesSqueueAndSacctPrint) {
  EXPECT_EQ(classify("PENDING"), TaskState::pending);
  EXPECT_EQ(classify("REQUEUED"), TaskState::pending);
  EXPECT_EQ(classify("RUNNING"), TaskState::running);
  EXPECT_EQ(classify("COMPLETING"), TaskState::running);
  EXPECT_EQ(classify("COMPLETED"), TaskState::completed);
  EXPECT_EQ(classify("CANCELLED by 0"), TaskState::cancelled);
  EXPECT_EQ(classify("CANCELLED+"), TaskState::cancelled);
  EXPECT_EQ(classify("FAILED"), TaskState::failed);
  EXPECT_EQ(classify("OUT_OF_MEMORY"), TaskState::failed);
  EXPECT_EQ(classify("TIMEOUT"), TaskState::failed);
  EXPECT_EQ(classify("SOMETHING_NEW"), TaskState::unknown);
  EXPECT_TRUE(is_final(TaskState::cancelled));
  EXPECT_FALSE(is_final(TaskState::running));
}

TEST(SlurmStates, ParseSqueueRowsWithPendingRanges) {
  auto rows = parse_squeue("15|12|3|RUNNING|None\n12|12|[4-6%2]|PENDING|JobArrayTaskLimit\n20|20|N/A|FAILED|NonZeroExitCode\n"
                           "12|12|0|PENDING|Dependency\n");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].raw_id, "15");
  EXPECT_EQ(rows[0].index, 3);
  EXPECT_EQ(rows[0].state, TaskState::running);
  EXPECT_EQ(rows[1].index, 4);
  EXPECT_EQ(rows[3].index, 6);
  EXPECT_EQ(rows[3].reason, "JobArrayTaskLimit");
  EXPECT_TRUE(rows[3].raw_id.empty());
  EXPECT_EQ(rows[4].index, -1);
  EXPECT_EQ(rows[4].state, TaskState::failed);
  EXPECT_TRUE(rows[5].raw_id.empty()) << "a pending task's %A is its array's id, not its own";
  EXPECT_THROW(parse_squeue("garbage\n"), RuntimeError);
}

TEST(SlurmStates, ParseSacctRowsSkippingStepsAndExpandingArrays) {
  auto rows = parse_sacct("12_3|15|COMPLETED|0:0\n12_3.batch|15.batch|COMPLETED|0:0\n12_[4-5,7]|12|PENDING|0:0\n"
                          "30|30|CANCELLED by 0|0:0\n31_0|31|FAILED|3:0\n");
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].array_job, "12");
  EXPECT_EQ(rows[0].index, 3);
  EXPECT_EQ(rows[0].raw_id, "15");
  EXPECT_EQ(rows[1].index, 4);
  EXPECT_EQ(rows[3].index, 7);
  EXPECT_EQ(rows[4].index, -1);
  EXPECT_EQ(rows[4].state, TaskState::cancelled);
  EXPECT_EQ(rows[5].exit_code, "3:0");
  EXPECT_EQ(expand_index_list("[0-2,9]"), (std::vector<int>{0, 1, 2, 9}));
  EXPECT_EQ(expand_index_list("5"), (std::vector<int>{5}));
  EXPECT_THROW(expand_index_list("[a-b]"), RuntimeError);
}

}  // namespace
}  // namespace ps::slurm
