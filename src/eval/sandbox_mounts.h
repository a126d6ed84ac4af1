#pragma once
// The file system a sandboxed program sees, as bubblewrap arguments. The root is read-only. Built the way bubblewrap's own
// examples and nsjail's Python configs are: an empty root with only what the interpreter needs,
// read-only, and nothing of the user's data:
//
//   /usr                      read-only (the interpreter and its standard library, merged-/usr Debian)
//   /bin /lib /lib64 /lib32 /sbin
//                             the same symlinks into /usr as on the host (or read-only binds where
//                             they are real directories)
//   interpreter prefix        read-only, when python3 lives outside /usr (a pyenv or venv install)
//   /etc                      only ld.so.cache, localtime, alternatives/ and the interpreter's own
//                             python3.X/ (Debian's sitecustomize); no passwd, hosts or ssl
//   /dev                      private, read-only after bubblewrap's few device nodes are made
//   /dev/shm                  tmpfs of `shm_size` bytes
//   /proc                     of the sandbox's own pid namespace
//   /run                      empty tmpfs (no host sockets, no /run/user/UID/bus)
//   /tmp                      tmpfs of `tmp_size` bytes, the working directory /tmp/work
//
// Not there at all: /home, /root, /work, /srv, /opt, /mnt, /media, /var, /sys, the checkout, $HOME.
#include <string>
#include <vector>

#include "eval/sandbox.h"

namespace s0 {

// `python` is the interpreter's real path (symlinks resolved).
std::vector<std::string> sandbox_mount_args(const std::string& python, const SandboxLimits& limits);

}  // namespace s0
