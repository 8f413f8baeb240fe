#pragma once
// Test-only interposer of pwrite(2), the call HDF5's sec2 driver writes the file with: lets a test
// count the writes of one store operation and SIGKILL the process just before its k-th write, so
// every point inside an HDF5 flush is hit deterministically (the executable's pwrite binds first).
#include <cstdint>
#include <functional>
#include <string>

namespace ps::store::testing {

// Counts pwrites from now on; if kill_at > 0, the process SIGKILLs itself instead of doing write #kill_at.
void arm_pwrite_hook(int64_t kill_at);
int64_t disarm_pwrite_hook();  // stops counting; returns the count

// Runs `body` in a forked child and returns the raw wait status; the child's return value lands in *out.
// A child that throws prints "child: what" on stderr and exits 2.
int in_child(const std::function<int64_t()>& body, int64_t* out = nullptr);
bool killed(int wait_status);  // terminated by SIGKILL
// Copies a store and its journal (if any) over `to` (and drops a journal `to` had).
void copy_store(const std::string& from, const std::string& to);
bool journal_says_flushing(const std::string& store);

}  // namespace ps::store::testing
