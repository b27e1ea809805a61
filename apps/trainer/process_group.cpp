// ProcessGroup over MPI (host buffers) and NCCL (device buffers, through the CUDA module), or a group of one.
#include "apps/trainer/process_group.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef TL_HAVE_MPI
#include <mpi.h>
#endif

#include "core/base/error.h"
#include "core/base/memory.h"
#include "kernels/cuda_module.h"

namespace tl::train {
namespace {

// The variable by which a launcher said it started this process: Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE (any
// process count: `mpirun -np 1` still gets an MPI group, whose CUDA collectives run over NCCL), a PMI launcher
// (MPICH's hydra, srun --mpi=pmi2) PMI_SIZE, taken when above 1 (an allocation's lone task is no group). Empty when
// neither did.
std::string launcher_variable() {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr) return "OMPI_COMM_WORLD_SIZE";
  const char* pmi_size = std::getenv("PMI_SIZE");
  if (pmi_size != nullptr && std::atoi(pmi_size) > 1) return "PMI_SIZE";
  return {};
}

class SingleProcess final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void all_gather(const float* send, int64_t count, float* recv, Device device) override {
    copy_bytes(recv, device, send, device, static_cast<size_t>(count) * sizeof(float));
  }
  void all_gather_host(const double* send, int64_t count, double* recv) override {
    std::memcpy(recv, send, static_cast<size_t>(count) * sizeof(double));
  }
  void select_cuda_device() override {}
  [[noreturn]] void abort(int exit_code) override { std::exit(exit_code); }
};

#ifdef TL_HAVE_MPI
void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  TL_FAIL(Error, call, " failed: ", std::string(text, static_cast<size_t>(length)));
}

int mpi_count(int64_t count, const char* what) {
  TL_CHECK(count >= 0 && count <= INT_MAX, what, ": ", count, " elements exceed one MPI message's ", INT_MAX);
  return static_cast<int>(count);
}

// Adds the wall time of its scope to a group's communication time.
class CommunicationTimer {
 public:
  explicit CommunicationTimer(double& seconds) : seconds_(seconds) {}
  ~CommunicationTimer() {
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  CommunicationTimer(const CommunicationTimer&) = delete;
  CommunicationTimer& operator=(const CommunicationTimer&) = delete;

 private:
  double& seconds_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MpiGroup final : public ProcessGroup {
 public:
  MpiGroup() {
    // Only the main thread calls MPI (OpenMP's threads never do): FUNNELED.
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    TL_CHECK(provided >= MPI_THREAD_FUNNELED, "this MPI library offers no thread support (MPI_THREAD_FUNNELED)");
    check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
    MPI_Comm local;
    check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
              "MPI_Comm_split_type");
    check_mpi(MPI_Comm_rank(local, &local_rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(local, &local_size_), "MPI_Comm_size");
    MPI_Comm_free(&local);
  }
  ~MpiGroup() override {
    try {
      if (nccl_ != nullptr) kernels::cuda_collectives().disconnect(nccl_);
    } catch (const Error& e) {
      std::fprintf(stderr, "warning: closing the NCCL communicator failed: %s\n", e.what());
    }
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void all_gather(const float* send, int64_t count, float* recv, Device device) override {
    if (device == Device::CUDA) {
      cuda_runtime::synchronize();  // the step's queued GPU work is not communication
      const CommunicationTimer timer(communication_seconds_);
      kernels::cuda_collectives().all_gather(nccl(), send, count, recv);
      return;
    }
    const CommunicationTimer timer(communication_seconds_);
    const int n = mpi_count(count, "all_gather");
    check_mpi(MPI_Allgather(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, MPI_COMM_WORLD), "MPI_Allgather");
  }

  void all_gather_host(const double* send, int64_t count, double* recv) override {
    const CommunicationTimer timer(communication_seconds_);
    const int n = mpi_count(count, "all_gather_host");
    check_mpi(MPI_Allgather(send, n, MPI_DOUBLE, recv, n, MPI_DOUBLE, MPI_COMM_WORLD), "MPI_Allgather");
  }

  // The rank among the processes on this machine picks the GPU.
  void select_cuda_device() override { kernels::cuda_collectives().select_device(local_rank_, local_size_); }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  // The NCCL communicator, set up on the first CUDA collective: rank 0 makes its id and broadcasts it over MPI.
  void* nccl() {
    if (nccl_ != nullptr) return nccl_;
    const kernels::CudaCollectives& collectives = kernels::cuda_collectives();
    std::vector<char> id(static_cast<size_t>(collectives.unique_id_bytes));
    if (rank_ == 0) collectives.make_unique_id(id.data());
    check_mpi(MPI_Bcast(id.data(), collectives.unique_id_bytes, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    nccl_ = collectives.connect(id.data(), rank_, size_);
    return nccl_;
  }

  int rank_ = 0, size_ = 1;
  int local_rank_ = 0, local_size_ = 1;  // among the processes on this machine
  void* nccl_ = nullptr;
};
#endif

std::unique_ptr<ProcessGroup>& instance() {
  static std::unique_ptr<ProcessGroup> group;
  return group;
}

std::unique_ptr<ProcessGroup> start_group() {
  const std::string launcher = launcher_variable();
  if (launcher.empty()) return std::make_unique<SingleProcess>();
#ifdef TL_HAVE_MPI
  return std::make_unique<MpiGroup>();
#else
  TL_FAIL(Error, "this process was started by an MPI launcher (", launcher,
          " is set), but topolatent was built without MPI: install Open MPI (Debian: libopenmpi-dev openmpi-bin) "
          "and rebuild, or run tl_train without mpirun");
#endif
}

}  // namespace

ProcessGroup& process_group() {
  std::unique_ptr<ProcessGroup>& group = instance();
  if (!group) group = start_group();
  return *group;
}

ProcessGroupScope::~ProcessGroupScope() {
  instance().reset();
}

}  // namespace tl::train
