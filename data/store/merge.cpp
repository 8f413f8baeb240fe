#include "data/store/merge.h"

#include <memory>

#include "data/store/reader.h"
#include "models/util/error.h"

namespace ps::store {

void merge_stores(const std::string& out, const std::vector<std::string>& shards, const MergeOptions& opts) {
  if (shards.empty()) throw InputError(where(out, "merge needs at least one shard"));
  std::vector<std::unique_ptr<StoreReader>> in;
  for (const auto& s : shards) {
    in.push_back(std::make_unique<StoreReader>(s));
    if (!in.back()->complete()) throw InputError(where(s, "incomplete store (its writer did not finish); resume it first"));
  }
  // Every shard in full before the output exists: a damaged shard must not become a merged store that
  // looks good (the copy's new checksums would cover the damage).
  for (const auto& r : in) r->verify();
  const Manifest& first = in[0]->manifest();
  auto skip = [](const std::string& k) { return k == key::shard || k == key::created_at; };
  for (size_t k = 1; k < in.size(); ++k) {
    const Manifest& m = in[k]->manifest();
    std::map<std::string, int> keys;
    for (const auto& kv : first) keys[kv.first] = 1;
    for (const auto& kv : m) keys[kv.first] = 1;
    for (const auto& [f, unused] : keys) {
      if (skip(f)) continue;
      auto a = m.find(f);
      auto b = first.find(f);
      std::string here = a == m.end() ? "missing" : "'" + a->second + "'";
      std::string there = b == first.end() ? "missing" : "'" + b->second + "'";
      if (here != there)
        throw InputError(where(shards[k], "manifest differs: field '" + f + "' is " + here + " here but " + there +
                                              " in " + shards[0]));
    }
  }
  Manifest manifest = first;
  manifest.erase(key::shard);
  manifest["merged_shards"] = std::to_string(shards.size());
  WriterOptions wo;
  wo.mode = opts.overwrite ? WriterOptions::Mode::overwrite : WriterOptions::Mode::create;
  wo.gzip = opts.gzip;
  StoreWriter w(out, manifest, wo);
  for (const auto& r : in) {
    const std::vector<int64_t>& toff = r->token_offsets();
    int64_t n = r->num_samples();
    for (int64_t i = 0; i < n;) {
      // Batch by token rows so memory stays bounded whatever the snippet lengths.
      int64_t j = i + 1;
      while (j < n && toff[size_t(j + 1)] - toff[size_t(i)] <= opts.rows_per_batch) ++j;
      w.append(r->read_batch(i, j));
      w.commit();
      i = j;
    }
  }
  w.finish();
}

}  // namespace ps::store
