// Saving and loading fitted probes as safetensors files (readable by any safetensors reader): the
// parameters as F32 tensors, vocabularies, layer and user metadata in __metadata__.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "probes/ast_probe.h"
#include "probes/linear.h"
#include "probes/probe_file.h"
#include "probes/structural.h"
#include "models/util/spec.h"

namespace ps::probes {

namespace {

constexpr const char* kAstFormat = "ast-probe/1";
constexpr const char* kStructuralFormat = "structural-probe/1";
constexpr const char* kLinearFormat = "linear-probe/1";

const F32Tensor& tensor(const ProbeFile& f, const std::string& path, const char* name, size_t rank) {
  const auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw InputError(where(path, std::string("tensor '") + name + "' missing"));
  if (it->second.shape.size() != rank)
    throw InputError(where(path, std::string("tensor '") + name + "' must have " + std::to_string(rank) + " dimensions"));
  return it->second;
}

const std::string& meta(const ProbeFile& f, const std::string& path, const char* key) {
  const auto it = f.meta.find(key);
  if (it == f.meta.end()) throw InputError(where(path, std::string("metadata '") + key + "' missing"));
  return it->second;
}

int meta_int(const ProbeFile& f, const std::string& path, const char* key) {
  const std::string& s = meta(f, path, key);
  int64_t v = 0;
  if (spec::try_int(s, v) && v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max())
    return static_cast<int>(v);
  throw InputError(where(path, std::string("metadata '") + key + "' is not an integer: '" + s + "'"));
}

std::vector<std::string> meta_strings(const ProbeFile& f, const std::string& path, const char* key) {
  try {
    return nlohmann::json::parse(meta(f, path, key)).get<std::vector<std::string>>();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception&) {
    throw InputError(where(path, std::string("metadata '") + key + "' is not a JSON list of strings"));
  }
}

ProbeFile read_format(const std::string& path, const char* format) {
  ProbeFile f = read_probe_file(path);
  const auto it = f.meta.find("ps.format");
  if (it == f.meta.end() || it->second != format)
    throw InputError(where(path, std::string("not a ") + format + " file (ps.format is '" +
                                     (it == f.meta.end() ? std::string() : it->second) + "')"));
  return f;
}

ProbeFile start(const std::string& path, const char* format, int layer, const std::map<std::string, std::string>& user) {
  check_user_metadata(path, user);
  ProbeFile f;
  f.meta = user;
  f.meta["ps.format"] = format;
  f.meta["ps.layer"] = std::to_string(layer);
  return f;
}

// The normalization a probe was fitted on: "ps.normalize" plus tensors "norm_scale" / "norm_shift".
bool norm_fits(const Normalization& n, int dim) {
  if (n.mode == NormalizeMode::none) return n.identity();
  if (n.mode == NormalizeMode::scale) return n.scale.size() == 1 && n.shift.empty();
  return n.scale.size() == static_cast<size_t>(dim) && n.shift.size() == static_cast<size_t>(dim);
}

void put_norm(ProbeFile& f, const std::string& path, const Normalization& n, int dim) {
  if (!norm_fits(n, dim))
    throw InputError(where(path, std::string("normalization statistics do not fit mode ") + normalize_name(n.mode) +
                                     " and width " + std::to_string(dim)));
  if (n.identity()) return;
  f.meta["ps.normalize"] = normalize_name(n.mode);
  f.tensors["norm_scale"] = {{static_cast<int64_t>(n.scale.size())}, n.scale};
  if (!n.shift.empty()) f.tensors["norm_shift"] = {{static_cast<int64_t>(n.shift.size())}, n.shift};
}

Normalization get_norm(const ProbeFile& f, const std::string& path, int dim) {
  Normalization n;
  const auto it = f.meta.find("ps.normalize");
  if (it == f.meta.end()) return n;  // files before normalization existed
  try {
    n.mode = parse_normalize(it->second);
  } catch (const InputError&) {
    throw InputError(where(path, "ps.normalize is '" + it->second + "' (none, scale or standardize)"));
  }
  if (n.mode == NormalizeMode::none) return n;
  n.scale = tensor(f, path, "norm_scale", 1).data;
  if (f.tensors.count("norm_shift")) n.shift = tensor(f, path, "norm_shift", 1).data;
  if (!norm_fits(n, dim)) throw InputError(where(path, "norm_scale/norm_shift sizes do not fit ps.normalize and the probe's width"));
  for (float v : n.scale)
    if (!std::isfinite(v)) throw InputError(where(path, "norm_scale is not finite"));
  for (float v : n.shift)
    if (!std::isfinite(v)) throw InputError(where(path, "norm_shift is not finite"));
  return n;
}

}  // namespace

void save_ast_probe(const std::string& path, const SavedAstProbe& p) {
  const AstProbeModel& m = p.model;
  if (m.P.size() != static_cast<size_t>(m.dim) * m.rank || m.Vc.size() != static_cast<size_t>(m.rank) * m.n_c ||
      m.Vu.size() != static_cast<size_t>(m.rank) * m.n_u)
    throw InputError(where(path, "probe parameter sizes do not match dim/rank/vocabulary sizes"));
  if (p.vocab.c.labels.size() != static_cast<size_t>(m.n_c) || p.vocab.u.labels.size() != static_cast<size_t>(m.n_u))
    throw InputError(where(path, "vocabulary sizes do not match the probe's output sizes"));
  ProbeFile f = start(path, kAstFormat, p.layer, p.metadata);
  f.meta["ps.rank"] = std::to_string(m.rank);
  f.meta["ps.c_vocab"] = nlohmann::json(p.vocab.c.labels).dump();
  f.meta["ps.u_vocab"] = nlohmann::json(p.vocab.u.labels).dump();
  f.meta["ps.c_empty"] = std::to_string(p.vocab.c.empty_id);
  f.meta["ps.u_empty"] = std::to_string(p.vocab.u.empty_id);
  f.meta["ps.sep"] = p.vocab.sep;
  f.tensors["P"] = {{m.dim, m.rank}, m.P};
  f.tensors["V_c"] = {{m.rank, m.n_c}, m.Vc};
  f.tensors["V_u"] = {{m.rank, m.n_u}, m.Vu};
  put_norm(f, path, p.norm, m.dim);
  write_probe_file(path, f);
}

SavedAstProbe load_ast_probe(const std::string& path) {
  const ProbeFile f = read_format(path, kAstFormat);
  SavedAstProbe out;
  out.metadata = user_metadata(f.meta);
  out.layer = meta_int(f, path, "ps.layer");
  out.vocab.c.labels = meta_strings(f, path, "ps.c_vocab");
  out.vocab.u.labels = meta_strings(f, path, "ps.u_vocab");
  out.vocab.c.empty_id = meta_int(f, path, "ps.c_empty");
  out.vocab.u.empty_id = meta_int(f, path, "ps.u_empty");
  out.vocab.sep = meta(f, path, "ps.sep");
  const F32Tensor &P = tensor(f, path, "P", 2), &Vc = tensor(f, path, "V_c", 2), &Vu = tensor(f, path, "V_u", 2);
  if (Vc.shape[0] != P.shape[1] || Vu.shape[0] != P.shape[1])
    throw InputError(where(path, "V_c/V_u rows do not equal P's columns (rank)"));
  AstProbeModel& m = out.model;
  m.dim = static_cast<int>(P.shape[0]);
  m.rank = static_cast<int>(P.shape[1]);
  m.n_c = static_cast<int>(Vc.shape[1]);
  m.n_u = static_cast<int>(Vu.shape[1]);
  m.P = P.data, m.Vc = Vc.data, m.Vu = Vu.data;
  if (meta_int(f, path, "ps.rank") != m.rank) throw InputError(where(path, "ps.rank disagrees with P's shape"));
  if (out.vocab.c.labels.size() != static_cast<size_t>(m.n_c) || out.vocab.u.labels.size() != static_cast<size_t>(m.n_u))
    throw InputError(where(path, "vocabulary sizes do not match V_c/V_u"));
  if (out.vocab.c.empty_id < -1 || out.vocab.c.empty_id >= m.n_c || out.vocab.u.empty_id < -1 ||
      out.vocab.u.empty_id >= m.n_u)
    throw InputError(where(path, "<empty> label id out of range"));
  out.norm = get_norm(f, path, m.dim);
  return out;
}

void save_structural_probe(const std::string& path, const SavedStructuralProbe& p) {
  const StructuralProbe& s = p.probe;
  if (s.B.size() != static_cast<size_t>(s.rank) * s.dim || s.rank <= 0 || s.dim <= 0)
    throw InputError(where(path, "structural probe B does not have rank x dim values"));
  ProbeFile f = start(path, kStructuralFormat, p.layer, p.metadata);
  f.meta["ps.kind"] = s.kind == StructuralKind::Distance ? "distance" : "depth";
  f.meta["ps.rank"] = std::to_string(s.rank);
  f.tensors["B"] = {{s.rank, s.dim}, s.B};
  put_norm(f, path, p.norm, s.dim);
  write_probe_file(path, f);
}

SavedStructuralProbe load_structural_probe(const std::string& path) {
  const ProbeFile f = read_format(path, kStructuralFormat);
  SavedStructuralProbe out;
  out.metadata = user_metadata(f.meta);
  out.layer = meta_int(f, path, "ps.layer");
  const std::string& kind = meta(f, path, "ps.kind");
  if (kind != "distance" && kind != "depth") throw InputError(where(path, "ps.kind must be distance or depth"));
  out.probe.kind = kind == "distance" ? StructuralKind::Distance : StructuralKind::Depth;
  const F32Tensor& B = tensor(f, path, "B", 2);
  out.probe.rank = static_cast<int>(B.shape[0]);
  out.probe.dim = static_cast<int>(B.shape[1]);
  out.probe.B = B.data;
  if (meta_int(f, path, "ps.rank") != out.probe.rank) throw InputError(where(path, "ps.rank disagrees with B's shape"));
  out.norm = get_norm(f, path, out.probe.dim);
  return out;
}

void save_linear_probe(const std::string& path, const SavedLinearProbe& p) {
  const LinearProbe& l = p.probe;
  if (l.W.size() != static_cast<size_t>(l.dim) * l.n_labels || l.b.size() != static_cast<size_t>(l.n_labels) || l.dim <= 0 ||
      l.n_labels <= 0)
    throw InputError(where(path, "linear probe W/b sizes do not match dim and n_labels"));
  if (!p.labels.empty() && p.labels.size() != static_cast<size_t>(l.n_labels))
    throw InputError(where(path, "label names do not match n_labels"));
  ProbeFile f = start(path, kLinearFormat, p.layer, p.metadata);
  f.meta["ps.labels"] = nlohmann::json(p.labels).dump();
  f.tensors["W"] = {{l.dim, l.n_labels}, l.W};
  f.tensors["b"] = {{l.n_labels}, l.b};
  put_norm(f, path, p.norm, l.dim);
  write_probe_file(path, f);
}

SavedLinearProbe load_linear_probe(const std::string& path) {
  const ProbeFile f = read_format(path, kLinearFormat);
  SavedLinearProbe out;
  out.metadata = user_metadata(f.meta);
  out.layer = meta_int(f, path, "ps.layer");
  out.labels = meta_strings(f, path, "ps.labels");
  const F32Tensor &W = tensor(f, path, "W", 2), &b = tensor(f, path, "b", 1);
  if (b.shape[0] != W.shape[1]) throw InputError(where(path, "b's length differs from W's columns"));
  out.probe.dim = static_cast<int>(W.shape[0]);
  out.probe.n_labels = static_cast<int>(W.shape[1]);
  out.probe.W = W.data;
  out.probe.b = b.data;
  if (!out.labels.empty() && out.labels.size() != static_cast<size_t>(out.probe.n_labels))
    throw InputError(where(path, "ps.labels does not match W's columns"));
  out.norm = get_norm(f, path, out.probe.dim);
  return out;
}

}  // namespace ps::probes
