// A fault injector for tests/faults/run_faults.py, preloaded into a trainer (LD_PRELOAD): it wraps
// open, write, link and rename and, as TIMBRE_FAULT says, kills the process (SIGKILL) at one moment of
// a checkpoint write, or makes writes fail as a full disk does.
//   kill-before-open:N    before the N-th open of a checkpoint's temporary (".*.safetensors.tmp.*")
//   kill-mid-write:N      in the N-th write to such a temporary, after half of its bytes
//   kill-before-rename:N  before the N-th rename onto a ".safetensors" file
//   kill-after-rename:N   after it
//   kill-before-link:N    before the N-th hard link of a checkpoint (best.safetensors linked as last)
//   enospc-after:BYTES    writes to files this process creates fail with ENOSPC beyond BYTES in all
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

enum class Fault { none, kill_before_open, kill_mid_write, kill_before_rename, kill_after_rename, kill_before_link, enospc };

struct Plan {
  Fault fault = Fault::none;
  long long n = 0;  // the event's number, or the byte budget
};

Plan read_plan() {
  const char* text = std::getenv("TIMBRE_FAULT");
  if (!text) return {};
  const std::string_view spec(text);
  const size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const long long n = colon == std::string_view::npos ? 0 : std::atoll(text + colon + 1);
  struct Name {
    const char* name;
    Fault fault;
  };
  for (const Name& k : {Name{"kill-before-open", Fault::kill_before_open}, Name{"kill-mid-write", Fault::kill_mid_write},
                        Name{"kill-before-rename", Fault::kill_before_rename},
                        Name{"kill-after-rename", Fault::kill_after_rename},
                        Name{"kill-before-link", Fault::kill_before_link}, Name{"enospc-after", Fault::enospc}})
    if (kind == k.name) return {k.fault, n};
  return {};
}

const Plan plan = read_plan();
long long events = 0;          // of the planned kind so far
long long budget_used = 0;     // bytes written to created files (enospc)
constexpr int max_fd = 4096;
bool checkpoint_fd[max_fd];    // a checkpoint's temporary
bool created_fd[max_fd];       // opened with O_CREAT

bool is_checkpoint_temporary(const char* path) { return std::strstr(path, ".safetensors.tmp.") != nullptr; }
bool is_checkpoint(const char* path) {
  const size_t n = std::strlen(path), suffix = std::strlen(".safetensors");
  return n >= suffix && std::strcmp(path + n - suffix, ".safetensors") == 0;
}
// Counts an event of `fault` and kills the process when it is the planned one.
void event(Fault fault) {
  if (plan.fault == fault && ++events == plan.n) ::raise(SIGKILL);
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

int open_with(const char* name, const char* path, int flags, mode_t mode) {
  if (is_checkpoint_temporary(path)) event(Fault::kill_before_open);
  using Open = int (*)(const char*, int, ...);
  static const Open real_open = next<Open>("open"), real_open64 = next<Open>("open64");
  const int fd = (std::strcmp(name, "open") == 0 ? real_open : real_open64)(path, flags, mode);
  if (fd >= 0 && fd < max_fd) {
    checkpoint_fd[fd] = is_checkpoint_temporary(path);
    created_fd[fd] = (flags & O_CREAT) != 0;
  }
  return fd;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & O_CREAT) ? static_cast<mode_t>(va_arg(args, int)) : 0;
  va_end(args);
  return open_with("open", path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = (flags & O_CREAT) ? static_cast<mode_t>(va_arg(args, int)) : 0;
  va_end(args);
  return open_with("open64", path, flags, mode);
}

ssize_t write(int fd, const void* data, size_t size) {
  using Write = ssize_t (*)(int, const void*, size_t);
  static const Write real_write = next<Write>("write");
  const bool tracked = fd >= 0 && fd < max_fd;
  if (tracked && checkpoint_fd[fd] && plan.fault == Fault::kill_mid_write && ++events == plan.n) {
    real_write(fd, data, size / 2);  // a torn temporary, then the kill
    ::raise(SIGKILL);
  }
  if (tracked && created_fd[fd] && plan.fault == Fault::enospc) {
    const long long room = plan.n - budget_used;
    if (room <= 0) {
      errno = ENOSPC;
      return -1;
    }
    if (static_cast<long long>(size) > room) size = static_cast<size_t>(room);  // a short write, as a disk filling up
    budget_used += static_cast<long long>(size);
  }
  return real_write(fd, data, size);
}

int rename(const char* from, const char* to) {
  using Rename = int (*)(const char*, const char*);
  static const Rename real_rename = next<Rename>("rename");
  const bool counted = is_checkpoint(to);
  if (counted) event(Fault::kill_before_rename);
  const int rc = real_rename(from, to);
  if (counted) event(Fault::kill_after_rename);
  return rc;
}

int link(const char* from, const char* to) {
  using Link = int (*)(const char*, const char*);
  static const Link real_link = next<Link>("link");
  if (is_checkpoint(from)) event(Fault::kill_before_link);
  return real_link(from, to);
}

}  // extern "C"
