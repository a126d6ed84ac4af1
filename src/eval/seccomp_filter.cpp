#include "eval/seccomp_filter.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace s0 {

namespace {

struct FilterDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

void add(scmp_filter_ctx ctx, uint32_t action, int syscall, std::initializer_list<scmp_arg_cmp> args = {}) {
  int rc = seccomp_rule_add_array(ctx, action, syscall, static_cast<unsigned>(args.size()), args.begin());
  // -EDOM/-EINVAL would mean a rule this libseccomp cannot express: a broken filter must not run.
  if (rc != 0) fail("sandbox: cannot build the seccomp filter (rule for syscall ", syscall, ": ", std::strerror(-rc), ")");
}

// Every namespace flag clone() accepts: a program may start processes and threads, not namespaces.
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME};

}  // namespace

std::vector<unsigned char> seccomp_filter_program(bool deny_unbounded_memory) {
  Filter filter(seccomp_init(SCMP_ACT_ALLOW));
  if (!filter) fail("sandbox: cannot build the seccomp filter (seccomp_init failed)");
  scmp_filter_ctx ctx = filter.get();
  // The native ABI only: an i386 or x32 syscall would slip past rules keyed on x86-64 numbers.
  if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    fail("sandbox: cannot build the seccomp filter (bad-arch action)");
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);

  add(ctx, deny, SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, AF_UNIX)});
  for (int sc : {SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(kcmp),
                 SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
                 SCMP_SYS(userfaultfd), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
                 SCMP_SYS(io_uring_register), SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
                 SCMP_SYS(chroot), SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
                 SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(mount_setattr), SCMP_SYS(unshare), SCMP_SYS(setns),
                 SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
                 SCMP_SYS(delete_module), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(syslog),
                 SCMP_SYS(acct)})
    add(ctx, deny, sc);
  // One rule per flag (rules are or-ed; a rule's comparisons are and-ed): any namespace flag denies.
  for (uint64_t flag : kNamespaceFlags) add(ctx, deny, SCMP_SYS(clone), {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)});
  add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3));
  // personality: the default only (one rule can compare an argument once, so the query 0xffffffff,
  // which Python never makes, is refused too).
  add(ctx, deny, SCMP_SYS(personality), {SCMP_A0(SCMP_CMP_NE, 0)});
  if (deny_unbounded_memory)
    for (int sc : {SCMP_SYS(memfd_create), SCMP_SYS(shmget)}) add(ctx, deny, sc);

  // libseccomp writes the program to a file descriptor; a memfd keeps it off the disk.
  int fd = ::memfd_create("s0-seccomp", MFD_CLOEXEC);
  if (fd < 0) fail("sandbox: cannot build the seccomp filter (memfd_create: ", std::strerror(errno), ")");
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::vector<unsigned char> program(size > 0 ? static_cast<size_t>(size) : 0);
  bool read_ok = rc == 0 && size > 0 && ::pread(fd, program.data(), program.size(), 0) == size;
  ::close(fd);
  if (!read_ok) fail("sandbox: cannot build the seccomp filter (export failed: ", std::strerror(rc ? -rc : errno), ")");
  return program;
}

}  // namespace s0
