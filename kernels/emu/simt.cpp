// The SIMT emulator's scheduler: one fiber per thread of a block, switched
// cooperatively at barriers and shuffles (see simt.h).
#include "kernels/emu/simt.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "timbre/core/error.h"

thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace timbre::simt {

namespace {
constexpr size_t kStackBytes = 64 * 1024;
constexpr unsigned kWarp = 32;

enum class State { ready, at_block_barrier, at_warp_barrier, done };

struct Fiber {
  ucontext_t context;
  State state = State::ready;
  dim3 thread_idx;
  uint64_t exchanged = 0;  // the value this lane published to its warp's shuffle
  uint64_t shuffles = 0;   // shuffles this lane has entered, to catch a lane reading from a lane not in step
};

// Fiber stacks: one mapping, a guard page below each stack so an overflow faults instead of corrupting.
class Stacks {
 public:
  ~Stacks() { unmap(); }
  char* top(size_t fiber) { return base_ + fiber * stride_ + stride_; }
  char* bottom(size_t fiber) { return base_ + fiber * stride_ + page_; }
  void reserve(size_t fibers) {
    if (fibers <= count_) return;
    unmap();
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    stride_ = kStackBytes + page_;
    void* p = mmap(nullptr, fibers * stride_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(p != MAP_FAILED, "SIMT emulator", "cannot map ", fibers, " fiber stacks");
    base_ = static_cast<char*>(p);
    count_ = fibers;
    for (size_t i = 0; i < fibers; ++i) mprotect(base_ + i * stride_, page_, PROT_NONE);
  }

 private:
  void unmap() {
    if (base_) munmap(base_, count_ * stride_);
    base_ = nullptr;
    count_ = 0;
  }
  char* base_ = nullptr;
  size_t count_ = 0, page_ = 0, stride_ = 0;
};

// Thrown inside a fiber when the kernel misuses a barrier or shuffle; caught at the fiber's base.
struct KernelFault {
  std::string message;
};

struct Block {
  ucontext_t scheduler;
  std::vector<Fiber> fibers;
  Stacks stacks;
  const std::function<void()>* body = nullptr;
  size_t current = 0;
  std::string error;
};

thread_local Block block_state;
thread_local bool in_launch = false;

Fiber& current_fiber() {
  check(in_launch, "SIMT emulator", "a device function was called outside a kernel launch");
  return block_state.fibers[block_state.current];
}

void fiber_main() {
  Block& b = block_state;
  try {
    (*b.body)();
  } catch (const KernelFault& fault) {
    b.error = fault.message;
  } catch (const std::exception& e) {
    b.error = e.what();
  } catch (...) {
    b.error = "the kernel threw a non-standard exception";
  }
  b.fibers[b.current].state = State::done;
  // Returning resumes uc_link, the scheduler.
}

void wait(State state) {
  Block& b = block_state;
  Fiber& f = current_fiber();
  f.state = state;
  swapcontext(&f.context, &b.scheduler);
}

unsigned linear_index(const dim3& t, const dim3& block) { return t.x + block.x * (t.y + block.y * t.z); }

// Runs the fibers until all are done, releasing barriers as every live thread they wait for arrives.
void run_block() {
  Block& b = block_state;
  const size_t n = b.fibers.size();
  for (size_t i = 0; i < n; ++i) {
    Fiber& f = b.fibers[i];
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = b.stacks.bottom(i);
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &b.scheduler;
    makecontext(&f.context, fiber_main, 0);
    f.state = State::ready;
    f.shuffles = 0;
  }
  for (;;) {
    for (size_t i = 0; i < n; ++i) {
      if (b.fibers[i].state != State::ready) continue;
      b.current = i;
      threadIdx = b.fibers[i].thread_idx;
      swapcontext(&b.scheduler, &b.fibers[i].context);
      if (!b.error.empty()) return;
    }
    size_t done = 0, at_block = 0;
    for (const Fiber& f : b.fibers) {
      done += f.state == State::done;
      at_block += f.state == State::at_block_barrier;
    }
    if (done == n) return;
    bool released = false;
    if (done + at_block == n) {
      for (Fiber& f : b.fibers)
        if (f.state == State::at_block_barrier) f.state = State::ready;
      released = true;
    }
    for (size_t w = 0; w < n; w += kWarp) {
      const size_t end = std::min(n, w + kWarp);
      size_t live = 0, waiting = 0;
      for (size_t i = w; i < end; ++i) {
        live += b.fibers[i].state != State::done;
        waiting += b.fibers[i].state == State::at_warp_barrier;
      }
      if (live > 0 && waiting == live) {
        for (size_t i = w; i < end; ++i)
          if (b.fibers[i].state == State::at_warp_barrier) b.fibers[i].state = State::ready;
        released = true;
      }
    }
    if (!released) {
      b.error = "deadlock: threads wait at different barriers (__syncthreads in divergent code, or a warp "
                "shuffle that not every live lane of the warp reaches)";
      return;
    }
  }
}
}  // namespace

void sync_block() { wait(State::at_block_barrier); }

void sync_warp() { wait(State::at_warp_barrier); }

unsigned lane_id() {
  current_fiber();
  return static_cast<unsigned>(block_state.current % kWarp);
}

uint64_t exchange_in_warp(uint64_t bits, unsigned source) {
  Block& b = block_state;
  Fiber& me = current_fiber();
  const size_t warp_base = b.current / kWarp * kWarp;
  const size_t from = warp_base + source;
  me.exchanged = bits;
  ++me.shuffles;
  wait(State::at_warp_barrier);  // every live lane has published
  if (source >= kWarp || from >= b.fibers.size() || b.fibers[from].state == State::done ||
      b.fibers[from].shuffles != me.shuffles)
    throw KernelFault{"warp shuffle reads lane " + std::to_string(source) +
                      ", which has exited or is not at this shuffle"};
  const uint64_t value = b.fibers[from].exchanged;
  wait(State::at_warp_barrier);  // every lane has read before anyone publishes again
  return value;
}

void launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
  const std::string where = std::string(kernel) + " (emulated launch)";
  check(!in_launch, where, "kernels cannot launch kernels in the emulator");
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  check(threads >= 1 && threads <= 1024 && block.x <= 1024 && block.y <= 1024 && block.z <= 64, where,
        "invalid block ", block.x, "x", block.y, "x", block.z, " (at most 1024 threads, z <= 64)");
  check(grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7fffffffu && grid.y <= 65535 && grid.z <= 65535,
        where, "invalid grid ", grid.x, "x", grid.y, "x", grid.z);
  check(shared_bytes <= 48 * 1024, where, "dynamic shared memory of ", shared_bytes, " bytes exceeds 48 KiB");

  Block& b = block_state;
  b.fibers.assign(threads, Fiber{});
  for (unsigned z = 0; z < block.z; ++z)
    for (unsigned y = 0; y < block.y; ++y)
      for (unsigned x = 0; x < block.x; ++x) b.fibers[linear_index({x, y, z}, block)].thread_idx = {x, y, z};
  b.stacks.reserve(threads);
  b.body = &body;
  b.error.clear();
  gridDim = grid;
  blockDim = block;
  in_launch = true;
  for (unsigned z = 0; z < grid.z && b.error.empty(); ++z)
    for (unsigned y = 0; y < grid.y && b.error.empty(); ++y)
      for (unsigned x = 0; x < grid.x && b.error.empty(); ++x) {
        blockIdx = {x, y, z};
        run_block();
      }
  in_launch = false;
  if (!b.error.empty()) fail(where + ": block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) +
                             "," + std::to_string(blockIdx.z) + "): " + b.error);
}

}  // namespace timbre::simt
