// CUDA convolution through cuDNN (legacy convolution API, NCHW float32): one handle per thread and RAII
// descriptors, workspaces from the caching allocator, and algorithms fixed to deterministic ones (implicit GEMM
// forward, ALGO_1 for both adjoints) so a run repeats bit for bit.
#include "core/cuda_check.h"
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
using ConvolutionDescriptor = Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                                         cudnnDestroyConvolutionDescriptor>;

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

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const ConvDescriptors d(s);
  size_t bytes = 0;
  TL_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle(), d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                         kForward, &bytes));
  ScratchBuffer workspace(bytes);
  const float one = 1.0f, zero = 0.0f;
  TL_CUDNN_CHECK(cudnnConvolutionForward(handle(), &one, d.x.get(), x, d.w.get(), w, d.conv.get(), kForward,
                                         workspace.data(), bytes, &zero, d.y.get(), y));
}

void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx) {
  const ConvDescriptors d(s);
  size_t bytes = 0;
  TL_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(handle(), d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                              kBackwardData, &bytes));
  ScratchBuffer workspace(bytes);
  const float one = 1.0f, zero = 0.0f;
  TL_CUDNN_CHECK(cudnnConvolutionBackwardData(handle(), &one, d.w.get(), w, d.y.get(), dy, d.conv.get(),
                                              kBackwardData, workspace.data(), bytes, &zero, d.x.get(), dx));
}

void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const ConvDescriptors d(s);
  size_t bytes = 0;
  TL_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle(), d.x.get(), d.y.get(), d.conv.get(),
                                                                d.w.get(), kBackwardFilter, &bytes));
  ScratchBuffer workspace(bytes);
  const float one = 1.0f, zero = 0.0f;
  TL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle(), &one, d.x.get(), x, d.y.get(), dy, d.conv.get(),
                                                kBackwardFilter, workspace.data(), bytes, &zero, d.w.get(), dw));
}

}  // namespace tl::kernels::cuda
