#pragma once
// Per-test scratch directories. ctest -j runs every test as its own process, so any fixed path shared
// between tests (a fixture directory under the build tree, /tmp/name_<pid> reused by two tests of one
// binary) races: one test deletes what another reads. Every test writes only under scratch_dir().
#include <filesystem>
#include <string>

namespace ps::test {

// A fresh, empty directory unique to this process and the running test:
//   $TMPDIR/ps_<Suite>.<Test>_<tag>_<pid>_XXXXXX  (mkdtemp).
// Removed when the test program ends with every test passed; kept, and its path printed, when one failed.
// Removal waits for the program's end, not the test's, because fixtures cache directories process-wide
// (a model written once, a store shared by a suite); under ctest each test is its own process anyway.
std::filesystem::path scratch_dir(const std::string& tag = "");

}  // namespace ps::test
