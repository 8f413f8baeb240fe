// safetensors reader (bounds-checked parse of an mmapped or in-memory buffer), writer and float conversion.
#include "models/safetensors/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <nlohmann/json.hpp>

#include "models/util/error.h"

namespace ps::st {

namespace {
constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

[[noreturn]] void header_error(const std::string& src, const std::string& problem) {
  throw InputError(src + ": header: " + problem);
}
[[noreturn]] void tensor_error(const std::string& src, const std::string& name, const std::string& problem) {
  throw InputError(src + ": tensor '" + printable(name) + "': " + problem);
}

// First line of a nlohmann error, made printable.
std::string json_problem(const std::exception& e) {
  const std::string msg = e.what();
  return printable(msg.substr(0, msg.find('\n')), 200);
}

// The header as JSON, rejecting duplicate keys at any level: nlohmann keeps the last one silently, which
// would let two entries with one name hide each other. Keys are tracked per open object.
nlohmann::json parse_header(const uint8_t* p, size_t n, const std::string& src) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto cb = [&](int /*depth*/, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) {
      open_objects.emplace_back();
    } else if (ev == E::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (ev == E::key && !open_objects.empty() && duplicate.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(p, p + n, cb);
  } catch (const nlohmann::json::exception& e) {
    header_error(src, "invalid JSON (" + json_problem(e) + ")");
  }
  if (!duplicate.empty()) header_error(src, "duplicate key '" + printable(duplicate) + "'");
  return header;
}
}  // namespace

std::string printable(const std::string& s, size_t max_len) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    // Stop before max_len, but not inside a UTF-8 sequence (continuation bytes are 10xxxxxx).
    if (out.size() >= max_len && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
  }
  return 0;
}

const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
  }
  return "?";
}

DType dtype_from_name(const std::string& name, const std::string& context) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    if (name == dtype_name(d)) return d;
  throw InputError(context + ": unsupported dtype '" + name + "'");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

File File::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  File f = parse(map->data(), map->size(), path);
  f.map_ = std::move(map);
  return f;
}

File File::parse(const uint8_t* data, size_t size, const std::string& src) {
  if (size < 8) header_error(src, "file is " + std::to_string(size) + " bytes, too short for the 8-byte length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  if (n > kMaxHeader) header_error(src, "length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8)
    header_error(src, "length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                          " bytes; file truncated?)");
  const nlohmann::json header = parse_header(data + 8, n, src);
  if (!header.is_object()) header_error(src, "not a JSON object");

  File f;
  f.source_ = src;
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (v.is_null()) continue;  // the reference reader accepts an explicit null
      if (!v.is_object()) header_error(src, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          header_error(src, "__metadata__ value '" + printable(m.key()) + "' is not a string");
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) tensor_error(src, name, "entry is not an object");
    const auto dt = v.find("dtype"), sh = v.find("shape"), of = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) tensor_error(src, name, "missing string field 'dtype'");
    if (sh == v.end() || !sh->is_array()) tensor_error(src, name, "missing array field 'shape'");
    if (of == v.end() || !of->is_array() || of->size() != 2)
      tensor_error(src, name, "field 'data_offsets' must be [begin, end]");
    TensorInfo t;
    t.name = name;
    t.dtype = dtype_from_name(dt->get<std::string>(), src + ": tensor '" + printable(name) + "'");
    // The product of the non-zero dimensions times 8 must fit in u64, so byte sizes never wrap and no
    // partial product (or a dimension beside a 0) overflows int64 downstream; real tensors are far below.
    uint64_t numel = 1, nonzero = 1;
    for (const auto& s : *sh) {
      if (!s.is_number_unsigned()) tensor_error(src, name, "shape entries must be non-negative integers");
      const uint64_t dim = s.get<uint64_t>();
      if (dim != 0 && nonzero > std::numeric_limits<uint64_t>::max() / 8 / dim)
        tensor_error(src, name, "shape overflows (element count too large)");
      if (dim != 0) nonzero *= dim;
      numel *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));  // dim <= 2^61 here, fits int64
    }
    for (const auto& o : *of)
      if (!o.is_number_unsigned()) tensor_error(src, name, "data_offsets must be non-negative integers");
    const uint64_t begin = (*of)[0].get<uint64_t>(), end = (*of)[1].get<uint64_t>();
    if (begin > end)
      tensor_error(src, name, "data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
    if (end > buffer_size)
      tensor_error(src, name, "data_offsets end " + std::to_string(end) + " is past the data buffer (" +
                                  std::to_string(buffer_size) + " bytes; file truncated?)");
    const uint64_t need = numel * dtype_size(t.dtype);
    if (end - begin != need)
      tensor_error(src, name, "holds " + std::to_string(end - begin) + " bytes but dtype x shape needs " +
                                  std::to_string(need));
    t.data = buffer + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    f.tensors_.emplace(name, std::move(t));
  }
  check_tiling(f, buffer, buffer_size);
  return f;
}

// The tensors must tile the buffer: sorted by offset, each starts where the previous ended and the last
// ends at the buffer's end. Zero-size tensors sit anywhere on the boundary between two others.
void File::check_tiling(const File& f, const uint8_t* buffer, uint64_t buffer_size) {
  std::vector<const TensorInfo*> order;
  for (const auto& kv : f.tensors_) order.push_back(&kv.second);
  const auto off = [buffer](const TensorInfo* t) { return static_cast<uint64_t>(t->data - buffer); };
  std::stable_sort(order.begin(), order.end(), [&](const TensorInfo* a, const TensorInfo* b) {
    return std::make_pair(off(a), off(a) + a->nbytes) < std::make_pair(off(b), off(b) + b->nbytes);
  });
  uint64_t expect = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : order) {
    if (off(t) < expect)
      tensor_error(f.source_, t->name, "overlaps tensor '" + printable(prev->name) + "' in the data buffer");
    if (off(t) > expect)
      tensor_error(f.source_, t->name, "leaves a gap of " + std::to_string(off(t) - expect) +
                                           " bytes before it in the data buffer");
    expect = off(t) + t->nbytes;
    prev = t;
  }
  if (expect != buffer_size)
    header_error(f.source_, "data buffer has " + std::to_string(buffer_size - expect) +
                                " trailing bytes no tensor covers");
}

const TensorInfo* File::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorInfo& File::at(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  tensor_error(source_, name, "missing");
}

std::vector<std::string> File::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

void write(const std::string& path, const std::vector<TensorData>& tensors,
           const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorData*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t off = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorData& t = *sorted[i];
    if (t.name == "__metadata__") tensor_error(path, t.name, "name is reserved by the format");
    if (i > 0 && sorted[i - 1]->name == t.name) tensor_error(path, t.name, "duplicate name");
    uint64_t numel = 1;
    for (int64_t s : t.shape) {
      if (s < 0) tensor_error(path, t.name, "negative dimension " + std::to_string(s));
      if (s != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / static_cast<uint64_t>(s))
        tensor_error(path, t.name, "shape overflows (element count too large)");
      numel *= static_cast<uint64_t>(s);
    }
    if (t.bytes.size() != numel * dtype_size(t.dtype))
      tensor_error(path, t.name, std::to_string(t.bytes.size()) + " bytes given, dtype x shape needs " +
                                     std::to_string(numel * dtype_size(t.dtype)));
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string h;
  try {
    h = header.dump();
  } catch (const nlohmann::json::exception& e) {  // names or metadata that are not valid UTF-8
    throw InputError(path + ": header: cannot encode (" + json_problem(e) + ")");
  }
  while (h.size() % 8) h.push_back(' ');  // 8-byte alignment of the data buffer, as the reference writer does
  std::string out(8, '\0');
  const uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.reserve(8 + h.size() + off);
  out += h;
  for (const auto* t : sorted) out += t->bytes;
  write_file_atomic(path, out);
}

namespace {
// IEEE half / bfloat16 bit patterns to float; exact (every such value is representable in float).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

std::vector<float> to_float(const TensorInfo& t) {
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  // memcpy per element: the data pointer has no alignment guarantee (header lengths need not be multiples of 8).
  const uint8_t* p = t.data;
  switch (t.dtype) {
    case DType::F32:
      if (n) std::memcpy(out.data(), p, n * 4);
      break;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    case DType::F16:
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        if (t.dtype == DType::F16) {
          out[i] = half_to_float(h);
        } else {
          const uint32_t bits = uint32_t(h) << 16;
          std::memcpy(&out[i], &bits, 4);
        }
      }
      break;
    default:
      throw InputError("tensor '" + printable(t.name) + "': dtype " + dtype_name(t.dtype) + " is not floating point");
  }
  return out;
}

}  // namespace ps::st
