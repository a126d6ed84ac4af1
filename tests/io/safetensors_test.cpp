// The safetensors reader: round trip through the writer, every lie a header can tell rejected with
// a one-line error naming the file and tensor, and a bounded fuzz loop over mutated files.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "support/test_support.h"

using namespace s0;

namespace {

// A file with the given raw header text and `data_bytes` zero bytes of data.
void write_raw(const fs::path& p, const std::string& header, size_t data_bytes) {
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out += header;
  out.append(data_bytes, '\0');
  test::write_text(p, out);
}

std::string open_error(const fs::path& p) {
  try {
    SafetensorsFile::open(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTrip) {
  test::TempDir dir;
  std::map<std::string, Tensor> t;
  t["a"] = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  t["b.c"] = Tensor::from({1}, {-7.5f});
  Tensor ids = Tensor::zeros({3}, DType::I64);
  static_cast<int64_t*>(ids.raw_mut())[2] = 42;
  t["ids"] = ids;
  write_safetensors(dir / "x.safetensors", t, {{"format", "pt"}});
  SafetensorsFile f = SafetensorsFile::open(dir / "x.safetensors");
  EXPECT_EQ(f.names(), (std::vector<std::string>{"a", "b.c", "ids"}));
  EXPECT_EQ(f.shape("a"), (Shape{2, 3}));
  EXPECT_EQ(f.tensor("a").f32()[5], 6.0f);
  EXPECT_EQ(f.tensor("b.c").f32()[0], -7.5f);
  EXPECT_EQ(f.tensor("ids").to_i64()[2], 42);
  EXPECT_EQ(f.metadata().at("format"), "pt");
}

TEST(Safetensors, HeaderLies) {
  test::TempDir dir;
  struct Case {
    std::string header;
    size_t data;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, "run past the data"},
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, "needs 12 bytes"},
      {R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8, "unknown dtype \"Q4\""},
      {R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, "end before they begin"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "overlap"},
      {R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, "negative dimension"},
      {R"({"w":{"dtype":"F32","shape":[2]}})", 8, "data_offsets"},
      {R"({"w":{"shape":[2],"data_offsets":[0,8]}})", 8, "missing dtype"},
      {R"({"w": [1, 2)", 8, "malformed JSON"},
      {R"([1, 2])", 0, "not a JSON object"},
  };
  for (const Case& c : cases) {
    write_raw(dir / "bad.safetensors", c.header, c.data);
    std::string err = open_error(dir / "bad.safetensors");
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.header << " -> " << err;
    EXPECT_NE(err.find("bad.safetensors"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
  }
}

TEST(Safetensors, HeaderLengthPastEndAndShortFiles) {
  test::TempDir dir;
  test::write_text(dir / "short.safetensors", "abc");
  EXPECT_NE(open_error(dir / "short.safetensors").find("shorter than the 8-byte header length"), std::string::npos);
  std::string s(8, '\0');
  s[0] = static_cast<char>(0xff);
  s[1] = static_cast<char>(0xff);
  test::write_text(dir / "long.safetensors", s + "{}");
  EXPECT_NE(open_error(dir / "long.safetensors").find("runs past the end of the file"), std::string::npos);
  EXPECT_NE(open_error(dir / "missing.safetensors").find("file not found"), std::string::npos);
}

TEST(Safetensors, UnloadableDtypeNamedOnUse) {
  test::TempDir dir;
  write_raw(dir / "u8.safetensors", R"({"q":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4);
  SafetensorsFile f = SafetensorsFile::open(dir / "u8.safetensors");
  try {
    f.tensor("q");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor \"q\" has dtype U8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f.tensor("absent"), Error);
}

// Random byte flips, truncations and header edits of a real checkpoint: every outcome is either a
// valid file or an s0::Error, never a crash or another exception.
TEST(Safetensors, FuzzMutatedFiles) {
  test::TempDir dir;
  const std::string good = read_file(test::fixture_model("falcon-h1-plain") / "model.safetensors");
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(good[i]);
  std::mt19937_64 rng(1234);
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::string m = good;
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {  // flip bytes inside the header (digits, quotes, brackets)
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) m[8 + rng() % hlen] = static_cast<char>(rng() % 128);
    } else if (kind == 1) {  // truncate
      m.resize(rng() % m.size());
    } else if (kind == 2) {  // corrupt the length prefix
      m[rng() % 8] = static_cast<char>(rng() & 0xff);
    } else {  // replace a digit of the header with another
      size_t p = 8 + rng() % hlen;
      while (p < 8 + hlen && !(m[p] >= '0' && m[p] <= '9')) ++p;
      if (p < 8 + hlen) m[p] = static_cast<char>('0' + rng() % 10);
    }
    test::write_text(dir / "f.safetensors", m);
    try {
      SafetensorsFile f = SafetensorsFile::open(dir / "f.safetensors");
      for (const std::string& n : f.names()) {
        try {
          Tensor t = f.tensor(n);
          (void)t.to_f32();  // touch every byte the header claims
        } catch (const Error&) {
        }
      }
      ++opened;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 100);
  EXPECT_GT(opened + rejected, 1499);
}

// Bytes after the last tensor's data are refused (the reference reader rejects them too), naming
// the file and the byte counts; every shared fixture file still opens.
TEST(Safetensors, TrailingBytesAreRefused) {
  test::TempDir dir;
  write_raw(dir / "ok.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
  EXPECT_EQ(open_error(dir / "ok.safetensors"), "");
  write_raw(dir / "tail.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 11);
  const size_t header = 8 + std::string(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})").size();
  EXPECT_EQ(open_error(dir / "tail.safetensors"),
            (dir / "tail.safetensors").string() + ": 3 bytes after the end of the tensor data (the header accounts for " +
                std::to_string(header + 8) + " of the file's " + std::to_string(header + 11) + " bytes)");
  write_raw(dir / "none.safetensors", R"({"__metadata__":{"a":"b"}})", 1);
  EXPECT_NE(open_error(dir / "none.safetensors").find("1 bytes after the end of the tensor data"), std::string::npos);
  for (const std::string& model : test::fixture_model_names())
    for (const char* file : {"model.safetensors", "reference.safetensors"})
      EXPECT_EQ(open_error(test::fixture_model(model) / file), "") << model << "/" << file;
}
