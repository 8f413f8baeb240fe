// Saving and loading a fitted AST-Probe as a safetensors file (readable by any safetensors reader).
// Self-contained reader/writer so the probe file does not wait on other libraries.
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/util/error.h"
#include "probes/ast_probe.h"

namespace ps::probes {

namespace {

constexpr const char* kFormat = "ast-probe/1";

std::string le_u64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// Our own keys; a user metadata key colliding with them is rejected rather than silently dropped.
bool reserved(const std::string& k) { return k.rfind("ps.", 0) == 0; }

}  // namespace

void save_ast_probe(const std::string& path, const SavedAstProbe& p) {
  const AstProbeModel& m = p.model;
  if (m.P.size() != static_cast<size_t>(m.dim) * m.rank || m.Vc.size() != static_cast<size_t>(m.rank) * m.n_c ||
      m.Vu.size() != static_cast<size_t>(m.rank) * m.n_u)
    throw InputError(where(path, "probe parameter sizes do not match dim/rank/vocabulary sizes"));
  if (p.vocab.c.labels.size() != static_cast<size_t>(m.n_c) || p.vocab.u.labels.size() != static_cast<size_t>(m.n_u))
    throw InputError(where(path, "vocabulary sizes do not match the probe's output sizes"));
  nlohmann::json header = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : p.metadata) {
    if (reserved(k)) throw InputError(where(path, "metadata key '" + k + "' is reserved"));
    meta[k] = v;
  }
  meta["ps.format"] = kFormat;
  meta["ps.layer"] = std::to_string(p.layer);
  meta["ps.rank"] = std::to_string(m.rank);
  meta["ps.c_vocab"] = nlohmann::json(p.vocab.c.labels).dump();
  meta["ps.u_vocab"] = nlohmann::json(p.vocab.u.labels).dump();
  meta["ps.c_empty"] = std::to_string(p.vocab.c.empty_id);
  meta["ps.u_empty"] = std::to_string(p.vocab.u.empty_id);
  meta["ps.sep"] = p.vocab.sep;
  header["__metadata__"] = meta;
  std::string data;
  auto add = [&](const char* name, const std::vector<float>& v, int64_t r, int64_t c) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));  // little-endian host
    header[name] = {{"dtype", "F32"}, {"shape", {r, c}}, {"data_offsets", {begin, data.size()}}};
  };
  add("P", m.P, m.dim, m.rank);  // name order == offset order, as the format's reference writer does
  add("V_c", m.Vc, m.rank, m.n_c);
  add("V_u", m.Vu, m.rank, m.n_u);
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw RuntimeError(where(path, "cannot open for writing"));
    f << le_u64(h.size()) << h << data;
    f.flush();
    if (!f) throw RuntimeError(where(path, "write failed"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw RuntimeError(where(path, "cannot rename temporary file"));
}

SavedAstProbe load_ast_probe(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(where(path, "cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string buf = ss.str();
  if (buf.size() < 8) throw InputError(where(path, "too short for a safetensors header"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(buf[i])) << (8 * i);
  if (n > buf.size() - 8) throw InputError(where(path, "header length " + std::to_string(n) + " exceeds file size"));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(buf.substr(8, n));
  } catch (const std::exception& e) {
    throw InputError(where(path, std::string("header is not valid JSON: ") + e.what()));
  }
  const size_t data0 = 8 + n;
  SavedAstProbe out;
  try {
    const auto& meta = header.at("__metadata__");
    if (meta.value("ps.format", "") != kFormat) throw InputError(where(path, "not an AST-Probe file (ps.format)"));
    for (const auto& [k, v] : meta.items())
      if (!reserved(k)) out.metadata[k] = v.get<std::string>();
    out.layer = std::stoi(meta.at("ps.layer").get<std::string>());
    out.vocab.c.labels = nlohmann::json::parse(meta.at("ps.c_vocab").get<std::string>()).get<std::vector<std::string>>();
    out.vocab.u.labels = nlohmann::json::parse(meta.at("ps.u_vocab").get<std::string>()).get<std::vector<std::string>>();
    out.vocab.c.empty_id = std::stoi(meta.at("ps.c_empty").get<std::string>());
    out.vocab.u.empty_id = std::stoi(meta.at("ps.u_empty").get<std::string>());
    out.vocab.sep = meta.at("ps.sep").get<std::string>();
    auto read = [&](const char* name, std::vector<float>& v, int64_t& rows, int64_t& cols) {
      if (!header.contains(name)) throw InputError(where(path, std::string("tensor '") + name + "' missing"));
      const auto& t = header.at(name);
      if (t.at("dtype").get<std::string>() != "F32")
        throw InputError(where(path, std::string("tensor '") + name + "': dtype must be F32"));
      const auto shape = t.at("shape").get<std::vector<int64_t>>();
      const auto off = t.at("data_offsets").get<std::vector<uint64_t>>();
      if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0 || off.size() != 2 || off[0] > off[1] ||
          off[1] > buf.size() - data0 ||
          off[1] - off[0] != static_cast<uint64_t>(shape[0]) * static_cast<uint64_t>(shape[1]) * sizeof(float))
        throw InputError(where(path, std::string("tensor '") + name + "': bad shape or data_offsets"));
      rows = shape[0];
      cols = shape[1];
      v.resize(static_cast<size_t>(rows * cols));
      std::memcpy(v.data(), buf.data() + data0 + off[0], v.size() * sizeof(float));
    };
    AstProbeModel& m = out.model;
    int64_t r0, c0, r1, c1, r2, c2;
    read("P", m.P, r0, c0);
    read("V_c", m.Vc, r1, c1);
    read("V_u", m.Vu, r2, c2);
    if (r1 != c0 || r2 != c0) throw InputError(where(path, "V_c/V_u rows do not equal P's columns (rank)"));
    m.dim = static_cast<int>(r0);
    m.rank = static_cast<int>(c0);
    m.n_c = static_cast<int>(c1);
    m.n_u = static_cast<int>(c2);
    if (std::to_string(m.rank) != meta.at("ps.rank").get<std::string>())
      throw InputError(where(path, "ps.rank disagrees with P's shape"));
    if (out.vocab.c.labels.size() != static_cast<size_t>(m.n_c) || out.vocab.u.labels.size() != static_cast<size_t>(m.n_u))
      throw InputError(where(path, "vocabulary sizes do not match V_c/V_u"));
    if (out.vocab.c.empty_id < -1 || out.vocab.c.empty_id >= m.n_c || out.vocab.u.empty_id < -1 ||
        out.vocab.u.empty_id >= m.n_u)
      throw InputError(where(path, "<empty> label id out of range"));
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(where(path, std::string("malformed AST-Probe metadata: ") + e.what()));
  }
  return out;
}

}  // namespace ps::probes
