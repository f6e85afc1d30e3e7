#include "timbre/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "timbre/core/error.h"

namespace timbre::io {

namespace {
std::string errno_text() { return std::strerror(errno); }

// A temporary name unique within this process and across processes.
std::filesystem::path temporary_beside(const std::filesystem::path& path) {
  static std::atomic<uint64_t> counter{0};
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on a chain of operator+.
  std::string name = ".";
  name += path.filename().string();
  name += ".tmp.";
  name += std::to_string(::getpid());
  name += ".";
  name += std::to_string(counter++);
  return path.parent_path() / name;
}

// Makes the rename of an entry of `parent` durable.
void sync_directory(const std::filesystem::path& parent) {
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}
}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  const std::string where = "write " + path.string();
  const std::filesystem::path parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  check(!ec, where, "cannot create directory ", parent.string(), ": ", ec.message());

  const std::filesystem::path tmp = temporary_beside(parent / path.filename());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, where, "cannot create ", tmp.string(), ": ", errno_text());
  auto give_up = [&](const std::string& what) {
    const std::string reason = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(where + ": " + what + ": " + reason);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) give_up("write failed");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) give_up("fsync failed");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail(where + ": close failed: " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    fail(where + ": rename failed: " + reason);
  }
  sync_directory(parent);
}

void link_file_atomically(const std::filesystem::path& existing, const std::filesystem::path& path) {
  const std::filesystem::path parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const std::filesystem::path tmp = temporary_beside(parent / path.filename());
  if (::link(existing.c_str(), tmp.c_str()) != 0) {
    std::ifstream in(existing, std::ios::binary);
    check(in.good(), "link " + path.string(), "cannot read ", existing.string());
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    check(!in.bad(), "link " + path.string(), "read error in ", existing.string());
    write_file_atomically(path, bytes);
    return;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    fail("link " + path.string() + ": rename failed: " + reason);
  }
  sync_directory(parent);
}

}  // namespace timbre::io
