// CUDA convolution through cuDNN (legacy convolution API, NCHW float32): one handle per thread and RAII
// descriptors, workspaces from the caching allocator, and algorithms fixed to deterministic ones (implicit GEMM
// forward, ALGO_1 for both adjoints) so a run repeats bit for bit.
#include "core/base/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

cudnnHandle_t handle() {
  struct Handle {
    cudnnHandle_t value = nullptr;
    Handle() { TL_CUDNN_CHECK(cudnnCreate(&value)); }
    ~Handle() { cudnnDestroy(value); }
  };
  thread_local Handle h;
  return h.value;
}

// Owns one cuDNN descriptor of type T, created and destroyed by the library's pair of functions.
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { TL_CUDNN_CHECK(Create(&value_)); }
  ~Descriptor() { Destroy(value_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  T get() const { return value_; }

 private:
  T value_{};
};

using TensorDescriptor = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

// The descriptors of one ConvShape: input x, filter w, output y and the convolution itself.
struct ConvDescriptors {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;

  explicit ConvDescriptors(const ConvShape& s) {
    const ConvGeometry& g = s.g;
    auto dim = [](int64_t v) { return static_cast<int>(v); };
    TL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, dim(s.batch),
                                              dim(g.channels), dim(g.height), dim(g.width)));
    TL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y.get(), CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, dim(s.batch),
                                              dim(s.out_channels), dim(g.out_h), dim(g.out_w)));
    TL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, dim(s.out_channels),
                                              dim(g.channels), dim(g.kernel_h), dim(g.kernel_w)));
    TL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv.get(), dim(g.pad_h), dim(g.pad_w), dim(g.stride_h),
                                                   dim(g.stride_w), 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    // Plain FP32 arithmetic (no TF32 tensor cores): results stay within float32 rounding of the CPU's.
    TL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.get(), CUDNN_FMA_MATH));
  }
};

constexpr cudnnConvolutionFwdAlgo_t kForward = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
constexpr cudnnConvolutionBwdDataAlgo_t kBackwardData = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
constexpr cudnnConvolutionBwdFilterAlgo_t kBackwardFilter = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
constexpr float kOne = 1.0f, kZero = 0.0f;  // alpha and beta: overwrite the output

// Asks `size` for the workspace the call needs, then runs `call` with a workspace of that size.
template <class Size, class Call>
void with_workspace(Size size, Call call) {
  size_t bytes = 0;
  TL_CUDNN_CHECK(size(&bytes));
  ScratchBuffer workspace(bytes);
  TL_CUDNN_CHECK(call(workspace.data(), bytes));
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const ConvDescriptors d(s);
  with_workspace(
      [&](size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(handle(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                       kForward, bytes);
      },
      [&](void* workspace, size_t bytes) {
        return cudnnConvolutionForward(handle(), &kOne, d.x.get(), x, d.w.get(), w, d.conv.get(), kForward, workspace,
                                       bytes, &kZero, d.y.get(), y);
      });
}

void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx) {
  const ConvDescriptors d(s);
  with_workspace(
      [&](size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(handle(), d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                            kBackwardData, bytes);
      },
      [&](void* workspace, size_t bytes) {
        return cudnnConvolutionBackwardData(handle(), &kOne, d.w.get(), w, d.y.get(), dy, d.conv.get(), kBackwardData,
                                            workspace, bytes, &kZero, d.x.get(), dx);
      });
}

void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const ConvDescriptors d(s);
  with_workspace(
      [&](size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(handle(), d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                              kBackwardFilter, bytes);
      },
      [&](void* workspace, size_t bytes) {
        return cudnnConvolutionBackwardFilter(handle(), &kOne, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                              kBackwardFilter, workspace, bytes, &kZero, d.w.get(), dw);
      });
}

}  // namespace tl::kernels::cuda
