#include "data/store/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "data/store/hash.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::store {

namespace {
constexpr const char* kFormat = "probescope-store-journal";
constexpr int kVersion = 1;
constexpr size_t kMaxCommits = 16, kRecent = 4;

nlohmann::json record_json(const CommitRecord& r) {
  nlohmann::json d = nlohmann::json::object();
  for (const auto& [p, m] : r.datasets) d[p] = nlohmann::json::array({m.rows, hex64(m.digest)});
  return {{"samples", r.samples}, {"datasets", d}};
}

CommitRecord record_of(const std::string& file, const nlohmann::json& j) {
  CommitRecord r;
  r.samples = j.at("samples").get<int64_t>();
  for (const auto& [p, m] : j.at("datasets").items())
    r.datasets[p] = DatasetMark{m.at(0).get<int64_t>(), parse_hex64(file, m.at(1).get<std::string>())};
  return r;
}
}  // namespace

void Journal::push(CommitRecord r) {
  commits.push_back(std::move(r));
  while (commits.size() > kMaxCommits) {
    // Drop the older commit whose neighbours are closest, relative to its age in samples: recent
    // commits stay dense, old ones thin out geometrically. The oldest and the last kRecent stay.
    double s_last = double(commits.back().samples);
    size_t best = 1;
    double best_cost = 0;
    for (size_t i = 1; i + kRecent < commits.size(); ++i) {
      double gap = double(commits[i + 1].samples - commits[i - 1].samples);
      double cost = gap / (s_last - double(commits[i].samples) + 1);
      if (i == 1 || cost < best_cost) best = i, best_cost = cost;
    }
    commits.erase(commits.begin() + long(best));
  }
}

std::string Journal::to_json() const {
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["uid"] = uid;
  j["state"] = flushing ? "flushing" : "clean";
  j["gzip"] = gzip;
  j["chunk_bytes"] = chunk_bytes;
  j["manifest_json"] = manifest_json;
  j["schema_json"] = schema_json;
  j["commits"] = nlohmann::json::array();
  for (const auto& r : commits) j["commits"].push_back(record_json(r));
  j["pending"] = pending ? record_json(*pending) : nlohmann::json();
  j["states"] = states;
  return j.dump();
}

Journal Journal::parse(const std::string& file, const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("format").get<std::string>() != kFormat || j.at("version").get<int>() != kVersion)
      throw InputError("not a version-1 store journal");
    Journal out;
    out.uid = j.at("uid").get<std::string>();
    std::string state = j.at("state").get<std::string>();
    if (state != "clean" && state != "flushing") throw InputError("state '" + state + "'");
    out.flushing = state == "flushing";
    out.gzip = j.at("gzip").get<int>();
    out.chunk_bytes = j.at("chunk_bytes").get<int64_t>();
    out.manifest_json = j.at("manifest_json").get<std::string>();
    out.schema_json = j.at("schema_json").get<std::string>();
    for (const auto& r : j.at("commits")) out.commits.push_back(record_of(file, r));
    if (!j.at("pending").is_null()) out.pending = record_of(file, j.at("pending"));
    out.states = j.at("states").get<std::map<std::string, std::string>>();
    if (out.commits.empty()) throw InputError("no commits");
    return out;
  } catch (const std::exception& e) {
    throw InputError(where(file, std::string("store journal malformed (delete it to resume without crash recovery): ") +
                                     e.what()));
  }
}

std::string journal_path(const std::string& store) { return store + ".commit"; }

bool load_journal(const std::string& store, Journal& out) {
  std::string p = journal_path(store);
  if (!std::filesystem::exists(p)) return false;
  out = Journal::parse(p, read_file(p));
  return true;
}

void save_journal(const std::string& store, const Journal& j, bool durable) {
  std::string p = journal_path(store), text = j.to_json();
  if (durable) return write_file_atomic(p, text);
  // Rename alone is atomic against kill -9 (the page cache survives the process); no fsync.
  std::string tmp = p + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw RuntimeError(where(tmp, std::string("cannot create: ") + std::strerror(errno)));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw RuntimeError(where(tmp, "write failed: " + err));
    }
    off += size_t(n);
  }
  if (::close(fd) != 0 || std::rename(tmp.c_str(), p.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw RuntimeError(where(p, "cannot write the store journal: " + err));
  }
}

void remove_journal(const std::string& store) {
  std::error_code ec;
  std::filesystem::remove(journal_path(store), ec);
  if (ec) throw RuntimeError(where(journal_path(store), "cannot remove: " + ec.message()));
}

bool journal_says_interrupted(const std::string& store, const std::string& uid) {
  Journal j;
  try {
    return load_journal(store, j) && j.flushing && j.uid == uid;
  } catch (const Error&) {
    return false;
  }
}

std::string new_uid() {
  std::random_device rd;
  uint64_t a = (uint64_t(rd()) << 32) ^ rd(), b = (uint64_t(rd()) << 32) ^ rd();
  return hex64(a) + hex64(b);
}

}  // namespace ps::store
