// The CUDA backend is opened lazily (kernels/cuda_module.h): a process that stays on the CPU maps no CUDA library,
// the first device query opens the module, and a missing module is a DeviceError naming its path. A test executable
// of its own, because the module, once open, stays open for the process: no other test may run first. Each case runs
// in a forked child, whose answers come back through a pipe.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include "kernels/cuda_module.h"
#include "tests/test_support.h"
#include "topology/persistence.h"

namespace tl::testing {
namespace {

// The shared objects mapped into this process whose file name contains one of the fragments.
std::string mapped_libraries_matching(std::initializer_list<const char*> fragments) {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    for (const char* fragment : fragments) {
      if (line.find(fragment) != std::string::npos && found.find(line.substr(line.rfind(' ') + 1)) == std::string::npos)
        found += line.substr(line.rfind(' ') + 1) + " ";
    }
  }
  return found;
}

const std::initializer_list<const char*> kCudaLibraries = {"libcudart", "libcublas", "libcudnn", "libtopolatent_cuda"};

// Runs `body` in a forked child and returns what it returned: "" for success, otherwise what went wrong. The parent
// never opens the module, so every child starts from a process that has not.
std::string in_child(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    std::string answer;
    try {
      answer = body();
    } catch (const std::exception& e) {
      answer = std::string("unexpected exception: ") + e.what();
    }
    const ssize_t written = write(fds[1], answer.data(), answer.size());
    _exit(written == static_cast<ssize_t>(answer.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string answer;
  char buffer[512];
  for (ssize_t got; (got = read(fds[0], buffer, sizeof(buffer))) > 0;) answer.append(buffer, static_cast<size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // the child sent its whole answer
  return answer;
}

}  // namespace

TEST_CASE("CPU work maps no CUDA library, and the first device query opens the CUDA module") {
  const std::string problems = in_child([] {
    std::string wrong;
    if (kernels::cuda_module_loaded()) wrong += "the module is open before any use; ";
    const std::string at_start = mapped_libraries_matching(kCudaLibraries);
    if (!at_start.empty()) wrong += "mapped at start-up: " + at_start + "; ";

    // CPU work through the ops and the persistence engine.
    const Tensor points = random_tensor({32, 3}, 7);
    const topology::PersistenceResult diagram = topology::persistence(points);
    const Tensor product = matmul(points, transpose(points));
    if (diagram.diagrams.at(0).pairs.size() != 31 || product.numel() != 32 * 32) wrong += "the CPU work did not run; ";
    const std::string after_cpu_work = mapped_libraries_matching(kCudaLibraries);
    if (!after_cpu_work.empty()) wrong += "mapped after CPU work: " + after_cpu_work + "; ";
    if (cuda_runtime::cache_stats().device_allocations != 0 || cuda_runtime::poisoning())
      wrong += "statistics report CUDA state; ";
    if (kernels::cuda_module_loaded()) wrong += "statistics opened the module; ";

    const int devices = cuda_runtime::device_count();
    if (!cuda_runtime::compiled()) {
      if (devices != 0) wrong += "a CPU-only build reports devices; ";
      if (cuda_runtime::unavailable_reason().find("built without CUDA") == std::string::npos)
        wrong += "the reason does not say the build has no CUDA: " + cuda_runtime::unavailable_reason() + "; ";
    } else if (kernels::cuda_module_loaded()) {
      const std::string after_query = mapped_libraries_matching(kCudaLibraries);
      for (const char* library : {"libtopolatent_cuda", "libcudart"})
        if (after_query.find(library) == std::string::npos) wrong += std::string(library) + " is not mapped; ";
    } else if (cuda_runtime::unavailable_reason().find(kernels::cuda_module_path()) == std::string::npos) {
      wrong += "the module could not be opened and the reason does not name it: " + cuda_runtime::unavailable_reason() +
               "; ";
    }
    return wrong;
  });
  CHECK_MESSAGE(problems.empty(), problems);
}

TEST_CASE("A missing CUDA module is a DeviceError naming its path, and the CPU keeps working") {
  const std::string problems = in_child([] {
    setenv("TOPOLATENT_CUDA_MODULE", "/nonexistent/libtopolatent_cuda.so", 1);
    std::string wrong;
    if (cuda_runtime::device_count() != 0) wrong += "devices reported without a module; ";
    const std::string expected = cuda_runtime::compiled() ? "/nonexistent/libtopolatent_cuda.so" : "built without CUDA";
    if (cuda_runtime::unavailable_reason().find(expected) == std::string::npos)
      wrong += "the reason does not say '" + expected + "': " + cuda_runtime::unavailable_reason() + "; ";
    try {
      Tensor::zeros({4}, Device::CUDA);
      wrong += "a CUDA tensor was created; ";
    } catch (const DeviceError& e) {
      if (std::string(e.what()).find(expected) == std::string::npos)
        wrong += std::string("the error does not say '") + expected + "': " + e.what() + "; ";
    }
    const Tensor on_cpu = Tensor::full({3}, 2.0f);
    if (sum(on_cpu).item() != 6.0f) wrong += "the CPU stopped working; ";
    return wrong;
  });
  CHECK_MESSAGE(problems.empty(), problems);
}

}  // namespace tl::testing
