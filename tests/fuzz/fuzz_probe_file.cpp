// libFuzzer target: probe files (probes/*.safetensors: F32 tensors + string __metadata__) through the
// probes library's loaders: read_probe_file, load_ast_probe, load_structural_probe, load_linear_probe.
// Seeds are real probe files written by the save_* functions: run the binary with
// PS_FUZZ_WRITE_SEEDS=<dir> and it writes them there and exits (script/fuzz does this).
// Contract: a probe whose parameter sizes match its shape and vocabularies, or a one-line ps::InputError
// naming the file. Torch-free: probe_io.cpp and probe_file.cpp need only the plain-C++ headers.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "probes/ast_probe.h"
#include "probes/linear.h"
#include "probes/probe_file.h"
#include "probes/structural.h"
#include "tests/fuzz/fuzz_util.h"

using ps::fuzz::check;
using namespace ps::probes;

namespace {

void write_seeds(const std::string& dir) {
  std::filesystem::create_directories(dir);
  SavedAstProbe a;
  a.model.dim = 3, a.model.rank = 2, a.model.n_c = 2, a.model.n_u = 3;
  a.model.P = {1, 2, 3, 4, 5, 6};
  a.model.Vc = {0.5f, -1, 2, 3};
  a.model.Vu = {1, 1, 1, 2, 2, 2};
  a.vocab.c.labels = {"block", "<empty>"};
  a.vocab.c.empty_id = 1;
  a.vocab.u.labels = {"<empty>", "identifier", "call"};
  a.vocab.u.empty_id = 0;
  a.layer = 4;
  a.metadata = {{"model", "codegpt"}, {"language", "python"}};
  save_ast_probe(dir + "/ast.safetensors", a);
  SavedStructuralProbe s;
  s.probe.kind = StructuralKind::Depth;
  s.probe.rank = 2, s.probe.dim = 3;
  s.probe.B = {1, 0, 0, 0, 1, 0};
  s.layer = 2;
  save_structural_probe(dir + "/structural.safetensors", s);
  s.probe.kind = StructuralKind::Distance;
  s.metadata = {{"note", "x"}};
  save_structural_probe(dir + "/distance.safetensors", s);
  SavedLinearProbe l;
  l.probe.dim = 2, l.probe.n_labels = 3;
  l.probe.W = {1, 2, 3, 4, 5, 6};
  l.probe.b = {0, 0.5f, -0.5f};
  l.labels = {"NOUN", "VERB", "ADJ"};
  l.layer = 1;
  save_linear_probe(dir + "/linear.safetensors", l);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PS_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ps::fuzz::scratch_path(".safetensors");
  ps::fuzz::write_scratch(path, data, size);
  std::string format;
  try {
    const ProbeFile f = read_probe_file(path);
    for (const auto& [name, t] : f.tensors) check(t.numel() == int64_t(t.data.size()) && !t.shape.empty(), "tensor size");
    if (const auto it = f.meta.find("ps.format"); it != f.meta.end()) format = it->second;  // picks the loader
  } catch (const ps::InputError& e) {
    ps::fuzz::check_error(e, path);
    return 0;
  }
  try {
    if (format == "ast-probe/1") {
      const SavedAstProbe p = load_ast_probe(path);
      const AstProbeModel& m = p.model;
      check(m.dim > 0 && m.rank > 0 && m.n_c > 0 && m.n_u > 0, "ast probe sizes");
      check(m.P.size() == size_t(m.dim) * size_t(m.rank) && m.Vc.size() == size_t(m.rank) * size_t(m.n_c) &&
                m.Vu.size() == size_t(m.rank) * size_t(m.n_u),
            "ast probe parameters");
      check(p.vocab.c.labels.size() == size_t(m.n_c) && p.vocab.u.labels.size() == size_t(m.n_u), "ast vocabularies");
      check(p.vocab.c.empty_id >= -1 && p.vocab.c.empty_id < m.n_c && p.vocab.u.empty_id >= -1 && p.vocab.u.empty_id < m.n_u,
            "ast empty ids");
      for (const auto& [k, v] : p.metadata) check(k.rfind("ps.", 0) != 0, "user metadata only");
    } else if (format == "structural-probe/1") {
      const SavedStructuralProbe p = load_structural_probe(path);
      check(p.probe.rank > 0 && p.probe.dim > 0 && p.probe.B.size() == size_t(p.probe.rank) * size_t(p.probe.dim),
            "structural probe parameters");
    } else if (format == "linear-probe/1") {
      const SavedLinearProbe p = load_linear_probe(path);
      check(p.probe.dim > 0 && p.probe.n_labels > 0, "linear probe sizes");
      check(p.probe.W.size() == size_t(p.probe.dim) * size_t(p.probe.n_labels) && p.probe.b.size() == size_t(p.probe.n_labels),
            "linear probe parameters");
      check(p.labels.empty() || p.labels.size() == size_t(p.probe.n_labels), "linear labels");
    }
  } catch (const ps::InputError& e) {
    ps::fuzz::check_error(e, path);
  }
  return 0;
}
