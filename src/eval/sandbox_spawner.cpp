#include "eval/sandbox_spawner.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <functional>
#include <thread>

#include "core/error.h"
#include "eval/sandbox_wire.h"

namespace s0 {

namespace {

bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Everything until the other end shuts down writing; false on an error.
bool read_all(int fd, std::string& bytes) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    bytes.append(buf, static_cast<size_t>(n));
  }
}

// A one-byte message with room for one descriptor (SCM_RIGHTS), to send or to receive into.
struct FdMessage {
  char tag = 'r';
  iovec iov{&tag, 1};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space;
    msg.msg_controllen = sizeof space;
  }
  FdMessage(const FdMessage&) = delete;  // msg points into the object itself
  FdMessage& operator=(const FdMessage&) = delete;
};

void send_socket(int control, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = ::sendmsg(control, &m.msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != 1) fail("sandbox: the program spawner is gone (", std::strerror(errno), "); no program can run");
}

// The next request's socket; -1 when s0 closed the control socket (or it broke).
int receive_socket(int control) {
  for (;;) {
    FdMessage m;
    ssize_t n = ::recvmsg(control, &m.msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) continue;
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
  }
}

// Runs a request in the spawner: the Sandbox's in-process run.
using RunHere = std::function<RunResult(const std::string&, const SandboxLimits&)>;

void answer(const RunHere& run_here, int fd) {
  std::string bytes;
  std::optional<RunRequest> request;
  if (read_all(fd, bytes)) request = decode_request(bytes);
  RunAnswer a;
  if (!request) {
    a.error = "sandbox: the program spawner got a broken request";
  } else {
    try {
      a.result = run_here(request->program, request->limits);
    } catch (const std::exception& e) {
      a.error = e.what();
    }
  }
  write_all(fd, encode_answer(a));  // nobody to tell if s0 stopped listening
  ::close(fd);
}

// The spawner's whole life. It never returns: leaving through _exit keeps it from running s0's
// destructors (the run's cgroup, shared with s0, belongs to s0).
[[noreturn]] void serve(const RunHere& run_here, int control, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) _exit(0);  // s0 died before the line above
  // Its own process group: a Ctrl-C meant for s0 must not end the spawner while s0 lives on.
  ::setpgid(0, 0);
  // Of s0's descriptors it needs only stdio (for its programs' reapers) and the control socket.
  if (control > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(control - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(control + 1), ~0u, 0u);
  for (;;) {
    int fd = receive_socket(control);
    if (fd < 0) _exit(0);  // s0 is done with us: runs still going end with us, as with s0
    std::thread([&run_here, fd] { answer(run_here, fd); }).detach();
  }
}

}  // namespace

std::shared_ptr<const SandboxSpawner> SandboxSpawner::start(const Sandbox& sandbox) {
  int control[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, control) != 0)
    fail("sandbox: cannot create the spawner's socket (", std::strerror(errno), ")");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("sandbox: cannot fork the program spawner (", std::strerror(errno), ")");
  if (pid == 0) {
    ::close(control[0]);
    serve([&sandbox](const std::string& program, const SandboxLimits& limits) {
      return sandbox.run_here(program, limits);
    }, control[1], parent);
  }
  ::close(control[1]);
  return std::shared_ptr<const SandboxSpawner>(new SandboxSpawner(pid, control[0]));
}

SandboxSpawner::~SandboxSpawner() {
  ::close(control_);
  ::waitpid(pid_, nullptr, 0);
}

RunResult SandboxSpawner::run(const std::string& program, const SandboxLimits& limits) const {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    fail("sandbox: cannot create a socket for the program spawner (", std::strerror(errno), ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } mine{pair[0]};
  {
    Closer theirs{pair[1]};  // once passed, the spawner holds it; its death closes it
    send_socket(control_, pair[1]);
  }
  std::string bytes;
  if (write_all(pair[0], encode_request({program, limits})) && ::shutdown(pair[0], SHUT_WR) == 0)
    read_all(pair[0], bytes);
  std::optional<RunAnswer> a = decode_answer(bytes);
  if (!a) fail("sandbox: the program spawner (pid ", pid_, ") died during a run; no program can run");
  if (!a->result) fail(a->error);
  return *a->result;
}

}  // namespace s0
