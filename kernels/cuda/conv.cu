// CUDA convolution through cuDNN (legacy convolution API, NCHW float32): one handle per thread and RAII
// descriptors, workspaces from the caching allocator, and algorithms fixed to deterministic ones (implicit GEMM
// forward, ALGO_1 for both adjoints) so a run repeats bit for bit. cuDNN refuses zero-sized dimensions and sizes
// beyond int: an empty output returns at once, an empty operand gives zeros as on the CPU (a sum of no terms),
// and a tensor of more than INT_MAX elements is a LimitError naming the shape.
#include <climits>

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

// Element counts of the three tensors of a ConvShape.
int64_t input_size(const ConvShape& s) {
  return s.batch * s.g.image_size();
}
int64_t filter_size(const ConvShape& s) {
  return s.out_channels * s.g.column_rows();
}
int64_t output_size(const ConvShape& s) {
  return s.batch * s.out_channels * s.g.column_cols();
}

// The descriptors of one ConvShape: input x, filter w, output y and the convolution itself. cuDNN's 4-D
// descriptors hold dimensions and strides as int, so every tensor must have at most INT_MAX elements.
struct ConvDescriptors {
  TensorDescriptor x, y;
  FilterDescriptor w;
  ConvolutionDescriptor conv;

  explicit ConvDescriptors(const ConvShape& s) {
    const ConvGeometry& g = s.g;
    TL_CHECK_AS(LimitError, input_size(s) <= INT_MAX && filter_size(s) <= INT_MAX && output_size(s) <= INT_MAX,
                "convolution on CUDA: cuDNN takes tensors of at most ", INT_MAX, " elements, got input [", s.batch,
                ", ", g.channels, ", ", g.height, ", ", g.width, "], filter [", s.out_channels, ", ", g.channels, ", ",
                g.kernel_h, ", ", g.kernel_w, "], output [", s.batch, ", ", s.out_channels, ", ", g.out_h, ", ",
                g.out_w, "] (split the batch)");
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

// Handles the sizes cuDNN refuses: true when `out` (of out_count elements) is done, being empty or, because one
// of the operands is empty, all zeros.
bool empty_case(int64_t out_count, int64_t operand_a, int64_t operand_b, float* out) {
  if (out_count == 0) return true;
  if (operand_a != 0 && operand_b != 0) return false;
  fill(out, out_count, 0.0f);
  return true;
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  if (empty_case(output_size(s), input_size(s), filter_size(s), y)) return;
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
  if (empty_case(input_size(s), filter_size(s), output_size(s), dx)) return;
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
  if (empty_case(filter_size(s), input_size(s), output_size(s), dw)) return;  // batch 0: dw = 0, as on the CPU
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
