// Interoperability: a store written here is read with plain h5py + numpy (Debian's /usr/bin/python3).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/data/store/store_fixture.h"

namespace ps::store {
namespace {

std::string run(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) { *rc = -1; return out; }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

template <class T>
nlohmann::json spans(const std::vector<T>& v) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : v) j.push_back({s.begin, s.end});
  return j;
}

TEST(StoreH5py, PlainH5pyReadsTheStore) {
  int rc = 0;
  std::string probe = run("/usr/bin/python3 -c 'import h5py, numpy'", &rc);
  if (rc != 0) GTEST_SKIP() << "/usr/bin/python3 cannot import h5py/numpy (apt install python3-h5py): " << probe;

  std::string dir = testing::temp_dir("h5py");
  std::string path = dir + "/s.h5";
  WriterOptions o;
  o.gzip = 1;
  testing::write_store(path, 25, 6, o);

  StoreReader r(path);
  nlohmann::json exp;
  exp["n"] = r.num_samples();
  exp["manifest"] = nlohmann::json::object();
  for (const auto& [k, v] : testing::base_manifest()) exp["manifest"][k] = v;
  for (int64_t i : {0, 1, 3, 4, 11, 24}) {  // 3 is the empty snippet
    nlohmann::json s;
    s["index"] = i;
    s["id"] = r.id(i);
    TokenData t = r.tokens(i);
    WordData w = r.words(i);
    s["input_ids"] = t.input_ids;
    s["char_spans"] = spans(t.char_spans);
    s["word_spans"] = spans(w.spans);
    s["subwords"] = spans(w.subwords);
    s["tokens_layer_1"] = r.acts("tokens/layer_1", i).data;  // decoded by our fp16 code
    s["words_layer_1"] = r.acts("words/layer_1", i).data;    // decoded by our bf16 code
    SyntaxData sy = r.syntax(i);
    s["d"] = sy.d;
    s["c"] = nlohmann::json::array();
    s["u"] = nlohmann::json::array();
    for (int32_t c : sy.c) s["c"].push_back(r.c_vocab()[size_t(c)]);
    for (int32_t u : sy.u) s["u"].push_back(r.u_vocab()[size_t(u)]);
    s["parent"] = r.table("structural", "parent", i).to_ints();
    exp["snippets"].push_back(s);
  }
  std::ofstream(dir + "/expected.json") << exp.dump();
  std::string out = run("/usr/bin/python3 " PS_SOURCE_DIR "/tests/data/store/h5py_check.py " + path + " " + dir +
                            "/expected.json",
                        &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok: 25 samples"), std::string::npos) << out;
}

}  // namespace
}  // namespace ps::store
