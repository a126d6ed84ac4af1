// Every reader refuses what is not a regular file (a FIFO, a socket, a device, a directory) with one
// line naming the path and what it is, and never blocks on it: a FIFO with no writer used to hang
// the open forever.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/json_lines.h"
#include "io/safetensors.h"
#include "support/test_support.h"

using namespace s0;
namespace fs = std::filesystem;

namespace {

// The error `read` raises for `path` ("" when it raises none).
std::string error_of(const std::function<void(const fs::path&)>& read, const fs::path& path) {
  try {
    read(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> kReaders = {
    {"read_file", [](const fs::path& p) { read_file(p); }},
    {"MappedFile", [](const fs::path& p) { MappedFile::open(p); }},
    {"safetensors", [](const fs::path& p) { SafetensorsFile::open(p); }},
    {"json", [](const fs::path& p) { load_json_file(p); }},
    {"json lines", [](const fs::path& p) { for_each_json_line(p, [](const Json&, const std::string&) {}); }},
};

void expect_refused(const fs::path& path, const std::string& kind) {
  for (const auto& [name, read] : kReaders) {
    const std::string err = error_of(read, path);
    EXPECT_EQ(err, path.string() + ": is " + kind + ", expected a regular file") << name;
  }
}

}  // namespace

TEST(InputFile, FifoIsRefusedWithoutBlocking) {
  test::TempDir dir;
  test::UnwrittenFifo fifo(dir / "model.safetensors");
  const auto start = std::chrono::steady_clock::now();
  expect_refused(fifo.path(), "a FIFO (named pipe)");
  EXPECT_FALSE(fifo.rescued()) << "a reader blocked on the FIFO";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(InputFile, SocketDeviceAndDirectoryAreRefused) {
  test::TempDir dir;
  const fs::path sock = dir / "data.jsonl";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.string().size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  expect_refused(sock, "a socket");
  ::close(fd);
  expect_refused("/dev/null", "a character device");
  expect_refused(dir.path(), "a directory");
}

TEST(InputFile, RegularFilesStillRead) {
  test::TempDir dir;
  test::write_text(dir / "a.json", "{\"x\": 1}");
  EXPECT_EQ(read_file(dir / "a.json"), "{\"x\": 1}");
  EXPECT_EQ(load_json_file(dir / "a.json")["x"], 1);
  EXPECT_EQ(MappedFile::open(dir / "a.json")->size(), 8u);
  test::write_text(dir / "empty", "");
  EXPECT_EQ(read_file(dir / "empty"), "");
  EXPECT_EQ(error_of([](const fs::path& p) { read_file(p); }, dir / "missing"), (dir / "missing").string() + ": file not found");
}
