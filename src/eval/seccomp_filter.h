#pragma once
// The seccomp filter bubblewrap installs just before it starts the program (`bwrap --seccomp FD`).
// Namespaces already take away the network, other processes and the host's mounts; the filter
// closes what a namespace cannot. Every rule answers EPERM, so a program gets a Python exception
// (PermissionError) instead of dying, and its report says what it tried. Denied:
//
//   socket(AF_UNIX, ...)          a UNIX socket is the door to a host service (a session bus, a
//                                 container runtime, a database): namespaces do not isolate path
//                                 sockets, and seccomp cannot read connect()'s address, so the
//                                 socket itself is refused. socketpair() stays (a connected pair
//                                 reaches no one; multiprocessing uses it).
//   ptrace, process_vm_readv/writev, kcmp
//                                 reading or steering another process's memory.
//   keyctl, add_key, request_key  the kernel keyring is not namespaced.
//   bpf, perf_event_open, userfaultfd, io_uring_setup/enter/register
//                                 kernel attack surface with a long record of privilege escalations.
//   mount family, pivot_root, chroot, unshare, setns, clone/clone3 with namespace flags
//                                 no new namespaces (and so no new mounts) inside the sandbox;
//                                 clone3's flags live behind a pointer that seccomp cannot read,
//                                 so clone3 answers ENOSYS and the C library falls back to clone.
//   kexec_*, init/finit/delete_module, reboot, swapon/off, syslog, acct
//                                 the machine itself (root-only anyway; denied in depth).
//   personality other than the default (0)
//                                 READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE weaken the process.
//   memfd_create, shmget          only where no memory cgroup bounds the run (`deny_unbounded_memory`):
//                                 their pages count against no rlimit and no size-limited tmpfs.
//
// Syscalls of other ABIs (i386, x32) kill the process: the rules are written for x86-64 numbers only.
#include <vector>

namespace s0 {

// The filter as the classic-BPF program bubblewrap expects (struct sock_filter array, raw bytes).
std::vector<unsigned char> seccomp_filter_program(bool deny_unbounded_memory);

}  // namespace s0
