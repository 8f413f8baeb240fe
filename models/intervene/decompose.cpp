#include "models/intervene/decompose.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <tuple>
#include <utility>

#include "models/intervene/prune.h"
#include "models/intervene/tensor_data.h"
#include "models/util/error.h"
#include "models/util/files.h"

namespace ps::models {

LowRankSparse lowrank_sparse(const at::Tensor& W_in, const DecomposeSpec& spec, uint64_t seed, const std::string& name,
                             const std::string& setting) {
  if (W_in.dim() != 2) throw InputError(setting + ": tensor '" + name + "' is not a matrix");
  const auto W = W_in.to(at::kDouble);
  const int64_t m = W.size(0), n = W.size(1);
  if (spec.rank < 1 || spec.rank > std::min(m, n))
    throw InputError(setting + " rank=" + std::to_string(spec.rank) + ": must lie in 1.." + std::to_string(std::min(m, n)) +
                     " for tensor '" + name + "' [" + std::to_string(m) + ", " + std::to_string(n) + "]");
  if (spec.nnz < 0 || spec.nnz > m * n)
    throw InputError(setting + " nnz=" + std::to_string(spec.nnz) + ": must lie in 0.." + std::to_string(m * n) +
                     " for tensor '" + name + "'");
  LowRankSparse d;
  d.tau = spec.threshold * std::sqrt(W.pow(2).mean().item<double>());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor U = at::empty({m, 1}, at::kDouble).normal_(0, 1, gen);
  at::Tensor V = at::empty({1, n}, at::kDouble).normal_(0, 1, gen);
  at::Tensor S = at::zeros_like(W);
  int64_t rank = 1;
  for (int64_t outer = 0; outer < spec.iters || rank < spec.rank; ++outer) {
    S = at::zeros_like(W);
    for (int64_t j = 0; j < spec.inner; ++j) {
      const auto WS = W - S;
      U = std::get<0>(at::linalg_qr(at::matmul(WS, V.t()), "reduced"));
      V = at::matmul(U.t(), WS);
      S = W - at::matmul(U, V);
      S.masked_fill_(S.abs() < d.tau, 0);
    }
    d.outer = outer + 1;
    if (rank < spec.rank) {
      const auto E = W - at::matmul(U, V) - S;
      const int64_t add = std::min(spec.rank_step, spec.rank - rank);
      const auto R = std::get<1>(at::linalg_qr(E, "reduced"));
      V = at::cat({V, R.slice(0, 0, add)}, 0);
      rank += add;
      if (outer + 1 >= spec.iters && rank == spec.rank) {
        // Grown on the last iteration: refit U and V at the final rank once more.
        const auto WS = W - S;
        U = std::get<0>(at::linalg_qr(at::matmul(WS, V.t()), "reduced"));
        V = at::matmul(U.t(), WS);
      }
    }
  }
  // S = the nnz largest |W - UV| (ties by position), then `polish` GoDec-style refits of UV to W - S with
  // that exact-count S, so UV is fit to the S actually written rather than to the thresholded one.
  auto top_entries = [&](const at::Tensor& L) {
    const auto flat = (W - L).reshape({-1});
    auto S_top = at::zeros_like(W);
    at::Tensor idx = at::empty({0}, at::kLong);
    if (spec.nnz > 0) {
      const auto order = std::get<1>(at::sort(flat.abs(), /*stable=*/true, 0, /*descending=*/true));
      idx = std::get<0>(at::sort(order.slice(0, 0, spec.nnz)));
      S_top.view({-1}).index_copy_(0, idx, flat.index_select(0, idx));
    }
    return std::pair{S_top, idx};
  };
  auto [S_top, idx] = top_entries(at::matmul(U, V));
  for (int64_t j = 0; j < spec.polish; ++j) {
    const auto WS = W - S_top;
    U = std::get<0>(at::linalg_qr(at::matmul(WS, V.t()), "reduced"));
    V = at::matmul(U.t(), WS);
    std::tie(S_top, idx) = top_entries(at::matmul(U, V));
  }
  d.U = U, d.V = V, d.S = S_top, d.support = idx;
  const auto D = W - at::matmul(U, V);
  d.residual = D - d.S;
  d.residual.view({-1}).index_fill_(0, d.support, 0);  // exactly 0 on the support, whatever the rounding
  return d;
}

Energy& Energy::operator+=(const Energy& e) {
  total += e.total, lowrank += e.lowrank, sparse += e.sparse, residual += e.residual, cross += e.cross;
  return *this;
}

Energy energy_of(const at::Tensor& W_in, const LowRankSparse& d) {
  const auto W = W_in.to(at::kDouble), L = at::matmul(d.U, d.V);
  auto dot = [](const at::Tensor& a, const at::Tensor& b) { return (a * b).sum().item<double>(); };
  Energy e;
  e.total = dot(W, W), e.lowrank = dot(L, L), e.sparse = dot(d.S, d.S), e.residual = dot(d.residual, d.residual);
  e.cross = 2 * (dot(L, d.S) + dot(L, d.residual) + dot(d.S, d.residual));
  return e;
}

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string csv_row(const std::string& name, const std::string& shape, int64_t rank, int64_t nnz, double tau, const Energy& e) {
  const double t = e.total > 0 ? e.total : 1;
  return name + "," + shape + "," + std::to_string(rank) + "," + std::to_string(nnz) + "," + fmt("%.6g", tau) + "," +
         fmt("%.6g", e.total) + "," + fmt("%.6f", e.lowrank / t) + "," + fmt("%.6f", e.sparse / t) + "," +
         fmt("%.6f", e.residual / t) + "," + fmt("%.6f", e.cross / t) + "\n";
}
nlohmann::ordered_json shares(const Energy& e) {
  const double t = e.total > 0 ? e.total : 1;
  return {{"total_sq", e.total}, {"lowrank", e.lowrank / t}, {"sparse", e.sparse / t}, {"residual", e.residual / t},
          {"cross", e.cross / t}};
}
}  // namespace

DecomposeOutput decompose_step(const ArchSpec& arch, std::map<std::string, st::TensorData>& tensors,
                               const std::string& source, const DecomposeSpec& spec) {
  std::vector<std::string> names;
  for (const auto& [n, t] : tensors) names.push_back(n);
  const auto chosen = selected_matrices(arch, names, source, spec.filter);
  if (chosen.empty()) throw InputError("--decompose: " + source + " has no " + spec.filter.describe() + " matrices");
  // Every tensor's bounds first, so a bad rank or nnz is refused before any work.
  for (const auto& c : chosen) {
    const auto& sh = tensors.at(c.name).shape;
    if (sh.size() != 2) throw InputError("--decompose: tensor '" + c.name + "' is not a matrix");
    if (spec.rank > std::min(sh[0], sh[1]))
      throw InputError("--decompose rank=" + std::to_string(spec.rank) + ": above min(m, n) = " +
                       std::to_string(std::min(sh[0], sh[1])) + " of tensor '" + c.name + "'");
    if (spec.nnz > sh[0] * sh[1])
      throw InputError("--decompose nnz=" + std::to_string(spec.nnz) + ": above m*n = " + std::to_string(sh[0] * sh[1]) +
                       " of tensor '" + c.name + "'");
  }
  DecomposeOutput out;
  out.lowrank = out.minus_lowrank = tensors;
  out.csv = "tensor,shape,rank,nnz,tau,total_sq,lowrank_share,sparse_share,residual_share,cross_share\n";
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  Energy all;
  std::fprintf(stderr, "%-48s %12s %8s %8s %8s %8s\n", "tensor (energy share)", "shape", "UV", "S", "residual", "cross");
  for (const auto& c : chosen) {
    auto& data = tensors.at(c.name);
    const auto W = tensor_of(data).to(at::kDouble);
    const auto d = lowrank_sparse(W, spec, tensor_seed(spec.seed, c.name), c.name);
    const auto L = at::matmul(d.U, d.V);
    out.lowrank.at(c.name) = data_like(data, L);
    out.minus_lowrank.at(c.name) = data_like(data, W - L);
    store_into(data, L + d.S);
    out.factors[c.name + ".U"] = d.U.to(at::kFloat);
    out.factors[c.name + ".V"] = d.V.to(at::kFloat);
    out.factors[c.name + ".S_index"] = d.support;
    out.factors[c.name + ".S_value"] = d.S.reshape({-1}).index_select(0, d.support).to(at::kFloat);
    const Energy e = energy_of(W, d);
    all += e;
    const std::string shape = std::to_string(W.size(0)) + "x" + std::to_string(W.size(1));
    out.csv += csv_row(c.name, shape, spec.rank, spec.nnz, d.tau, e);
    auto j = shares(e);
    list.push_back({{"name", c.name}, {"key", c.key}, {"shape", W.sizes().vec()}, {"tau", d.tau},
                    {"outer_iterations", d.outer}, {"energy", j}});
    std::fprintf(stderr, "%-48s %12s %8.4f %8.4f %8.4f %8.4f\n", c.name.c_str(), shape.c_str(), j["lowrank"].get<double>(),
                 j["sparse"].get<double>(), j["residual"].get<double>(), j["cross"].get<double>());
  }
  out.csv += csv_row("overall", "", spec.rank, spec.nnz, 0, all);
  const auto o = shares(all);
  std::fprintf(stderr, "%-48s %12s %8.4f %8.4f %8.4f %8.4f\n", "overall", "", o["lowrank"].get<double>(),
               o["sparse"].get<double>(), o["residual"].get<double>(), o["cross"].get<double>());
  out.step = {{"kind", "decompose"},
              {"spec", spec.text},
              {"method", "GreBsmo-style low-rank + sparse (DSEE, arXiv 2111.00160; VITA-Group/DSEE run_glue.py)"},
              {"rank", spec.rank},
              {"nnz", spec.nnz},
              {"filter", spec.filter.describe()},
              {"iters", spec.iters},
              {"inner", spec.inner},
              {"rank_step", spec.rank_step},
              {"threshold", spec.threshold},
              {"threshold_rule", "tau = threshold * rms(W) per tensor (DSEE's 0.01 is absolute, for BERT's scale)"},
              {"polish", spec.polish},
              {"seed", spec.seed},
              {"energy_rule", "shares of ||W||^2: lowrank ||UV||^2, sparse ||S||^2, residual ||W-UV-S||^2, cross "
                              "2(<UV,S>+<UV,R>); they sum to 1"},
              {"overall", o},
              {"tensors", list}};
  return out;
}

}  // namespace ps::models

namespace ps::models {

void write_factors(const std::string& path, const std::map<std::string, at::Tensor>& factors) {
  std::vector<st::TensorData> list;
  for (const auto& [name, t] : factors) {
    const auto c = t.contiguous();
    const st::DType dt = c.scalar_type() == at::kLong ? st::DType::I64 : st::DType::F32;
    const auto x = dt == st::DType::I64 ? c : c.to(at::kFloat);
    list.push_back({name, dt, x.sizes().vec(), std::string(reinterpret_cast<const char*>(x.data_ptr()), size_t(x.nbytes()))});
  }
  st::write(path, list, {{"format", "pt"}});
}

void write_sibling_model(const std::string& main_dir, const std::string& dest_dir,
                         const std::map<std::string, st::TensorData>& tensors,
                         const std::map<std::string, std::string>& metadata, const std::string& record_file,
                         const std::string& record_json) {
  namespace fs = std::filesystem;
  const fs::path dest = fs::absolute(dest_dir).lexically_normal();
  const fs::path tmp = dest.parent_path() / ("." + dest.filename().string() + ".tmp-" + std::to_string(getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    for (const auto& e : fs::directory_iterator(main_dir)) {
      const std::string f = e.path().filename().string();
      const bool weights = f.find(".safetensors") != std::string::npos;
      if (!e.is_regular_file() || weights || f == record_file || f.rfind("decomposition", 0) == 0) continue;
      write_file_atomic((tmp / f).string(), read_file(e.path().string()));
    }
    std::vector<st::TensorData> list;
    for (const auto& [n, t] : tensors) list.push_back(t);
    st::write((tmp / "model.safetensors").string(), list, metadata);
    write_file_atomic((tmp / record_file).string(), record_json);
    const fs::path old = dest.parent_path() / ("." + dest.filename().string() + ".old-" + std::to_string(getpid()));
    fs::remove_all(old, ec);
    if (fs::exists(dest, ec)) fs::rename(dest, old);
    fs::rename(tmp, dest);
    fs::remove_all(old, ec);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace ps::models
