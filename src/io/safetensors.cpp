#include "io/safetensors.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "io/json.h"

namespace s0 {
namespace {

// Byte sizes of every dtype the format defines; those this engine loads map to a DType.
size_t safetensors_dtype_size(const std::string& d) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(d);
  return it == sizes.end() ? 0 : it->second;
}

bool loadable_dtype(const std::string& d, DType& out) {
  static const std::map<std::string, DType> loadable = {
      {"F32", DType::F32}, {"F64", DType::F64}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I32", DType::I32}, {"I64", DType::I64}};
  auto it = loadable.find(d);
  if (it == loadable.end()) return false;
  out = it->second;
  return true;
}

constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit is 100 MB

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile st;
  st.file_ = MappedFile::open(path);
  const std::string where = path.string();
  size_t size = st.file_->size();
  if (size < 8) fail(where, ": not a safetensors file (", size, " bytes, shorter than the 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | st.file_->data()[i];
  if (n > size - 8) fail(where, ": header length ", n, " runs past the end of the file (", size, " bytes)");
  if (n > kMaxHeader) fail(where, ": header length ", n, " exceeds the 100 MB limit");
  std::string_view text(reinterpret_cast<const char*>(st.file_->data() + 8), n);
  Json header = parse_json(text, where + " (header)");
  if (!header.is_object()) fail(where, ": header is not a JSON object");
  st.data_start_ = 8 + n;
  size_t data_size = size - st.data_start_;

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(where, ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(where, ": __metadata__ value \"", m.key(), "\" is not a string");
        st.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string ctx = where + ": tensor \"" + name + "\"";
    if (!v.is_object()) fail(ctx, ": header entry is not an object");
    Entry e;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail(ctx, ": missing dtype");
    e.dtype = dt->get<std::string>();
    size_t esize = safetensors_dtype_size(e.dtype);
    if (esize == 0) fail(ctx, ": unknown dtype \"", e.dtype, "\"");
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail(ctx, ": missing shape");
    uint64_t count = 1;
    for (const Json& d : *sh) {
      if (!d.is_number_unsigned()) fail(ctx, ": shape ", sh->dump(), " has a non-integer or negative dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && count > (uint64_t(1) << 62) / dim) fail(ctx, ": shape ", sh->dump(), " is too large");
      count *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail(ctx, ": data_offsets must be two non-negative integers");
    uint64_t b = (*off)[0].get<uint64_t>(), en = (*off)[1].get<uint64_t>();
    if (b > en) fail(ctx, ": data_offsets [", b, ", ", en, "] end before they begin");
    if (en > data_size) fail(ctx, ": data_offsets [", b, ", ", en, "] run past the data (", data_size, " bytes)");
    if (en - b != count * esize)
      fail(ctx, ": shape ", shape_str(e.shape), " of ", e.dtype, " needs ", count * esize, " bytes, data_offsets give ",
           en - b);
    e.begin = b;
    e.end = en;
    st.entries_[name] = std::move(e);
  }
  // The data ends where the last tensor ends: bytes after it are refused, as the reference reader
  // (safetensors' MetadataIncompleteBuffer) does, since no header entry accounts for them.
  size_t data_end = 0;
  for (const auto& kv : st.entries_) data_end = std::max(data_end, kv.second.end);
  if (data_end < data_size)
    fail(where, ": ", data_size - data_end, " bytes after the end of the tensor data (the header accounts for ",
         st.data_start_ + data_end, " of the file's ", size, " bytes)");
  // Byte ranges must not overlap.
  std::vector<std::pair<size_t, const std::string*>> starts;
  for (const auto& [name, e] : st.entries_)
    if (e.end > e.begin) starts.push_back({e.begin, &name});
  std::sort(starts.begin(), starts.end());
  for (size_t i = 1; i < starts.size(); ++i) {
    const Entry& prev = st.entries_.at(*starts[i - 1].second);
    if (starts[i].first < prev.end)
      fail(where, ": tensors \"", *starts[i - 1].second, "\" and \"", *starts[i].second, "\" overlap");
  }
  return st;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const SafetensorsFile::Entry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) fail(path().string(), ": missing tensor \"", name, "\"");
  return it->second;
}

const Shape& SafetensorsFile::shape(const std::string& name) const { return entry(name).shape; }
const std::string& SafetensorsFile::dtype_name(const std::string& name) const { return entry(name).dtype; }

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const Entry& e = entry(name);
  DType dt;
  if (!loadable_dtype(e.dtype, dt))
    fail(path().string(), ": tensor \"", name, "\" has dtype ", e.dtype, ", which s0 cannot load (F32, F64, F16, BF16, I32, I64)");
  const unsigned char* p = file_->data() + data_start_ + e.begin;
  return Tensor::view(e.shape, dt, p, file_);
}

std::string safetensors_bytes(const std::map<std::string, Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  size_t off = 0;
  for (const auto& [name, t] : tensors) {
    Json shape = Json::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    header[name] = {{"dtype", dtype_name(t.dtype())}, {"shape", shape}, {"data_offsets", {off, off + t.nbytes()}}};
    off += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + h.size() + off);
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  for (const auto& kv : tensors) out.append(static_cast<const char*>(kv.second.raw()), kv.second.nbytes());
  return out;
}

void write_safetensors(const std::filesystem::path& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, safetensors_bytes(tensors, metadata));
}

}  // namespace s0
