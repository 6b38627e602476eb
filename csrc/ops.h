// The ops csrc/ exposes: each validates its inputs, allocates the result and
// dispatches to a kernel by device. None of them loops over elements itself.
#pragma once
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "csrc/array.h"
#include "kernels/common/binary.h"
#include "kernels/common/reduce.h"
#include "kernels/common/rnn.h"
#include "kernels/common/scan.h"
#include "kernels/common/scatter.h"
#include "kernels/common/unary.h"

namespace pydl {

// elementwise (ops_elementwise.cpp). unary: the pointwise family, y = op(x) with the op's
// parameters p0, p1 (kernels/common/unary.h); unary_backward: dx from grad and `saved`, the
// forward's output or input as grad_from_output(op) says.
Array unary(UnaryOp op, const Array& x, double p0 = 0, double p1 = 0);
Array unary_backward(UnaryOp op, const Array& grad, const Array& saved, double p0 = 0, double p1 = 0);
Array binary(BinaryOp op, const Array& a, const Array& b);
// `a op s` (or `s op a` when reverse); is_float says whether the Python scalar was a float.
Array binary_scalar(BinaryOp op, const Array& a, double s, bool is_float, bool reverse);
void binary_inplace(BinaryOp op, Array& a, const Array& b);  // a = a op b, in a's dtype
void binary_scalar_inplace(BinaryOp op, Array& a, double s);
Array where(const Array& cond, const Array& a, const Array& b);
DType promote(DType a, DType b, const char* op);  // TypeError naming op when a half meets another dtype

// reductions (ops_reduce.cpp); empty dims = all dims
Array reduce(ReduceOp op, const Array& x, const std::vector<int64_t>& dims, bool keepdim, double correction = 0);
std::tuple<Array, Array> max_min_dim(bool is_max, const Array& x, int64_t dim, bool keepdim);
Array arg_max_min(bool is_max, const Array& x, const std::vector<int64_t>& dim, bool keepdim);  // dim: [] or [d]

// scans along one dim (ops_scan.cpp): cumsum, cumprod, reversed and/or exclusive. Integer and
// bool inputs scan in int64, as PyTorch.
Array scan(ScanOp op, const Array& x, int64_t dim, bool reverse, bool exclusive);

// sorting along one dim (ops_sort.cpp): the first k (0 <= k <= the dim's size, or kWholeDim)
// of the sorted dim, values and their int64 positions, in the order of kernels/common/sort.h.
// `name` is the op that errors name (sort, topk, kthvalue).
constexpr int64_t kWholeDim = -1;
std::tuple<Array, Array> sort(const Array& x, int64_t dim, bool descending, int64_t k, const char* name);

// fused scaled dot-product attention on the CPU (ops_attention.cpp): query (..., L, E), key (..., S, E)
// and value (..., S, Ev) with the same leading dims give the output (..., L, Ev) and the softmax
// weights (..., L, S) that the backward takes; causal masks key j > query i.
std::tuple<Array, Array> attention(const Array& q, const Array& k, const Array& v, double scale, bool causal);
std::tuple<Array, Array, Array> attention_backward(const Array& q, const Array& k, const Array& v,
                                                   const Array& weights, const Array& grad, double scale);

// one direction of one recurrent layer (ops_rnn.cpp; kernels/common/rnn.h): x_proj (steps, batch,
// G hidden) the input's projection for all steps, w_hh (G hidden, hidden), b_hh the GRU's, c0 the
// LSTM's. Returns the hidden states (steps, batch, hidden; then the last c for the LSTM) and what
// the backward reads; the backward returns the gradients of x_proj, w_hh, b_hh, h0 and c0. lengths:
// (batch,) int64 valid steps per row (kernels/common/rnn.h), or none.
std::tuple<Array, Array> rnn_layer(RnnCell cell, const Array& x_proj, const Array& w_hh,
                                   const std::optional<Array>& b_hh, const Array& h0, const std::optional<Array>& c0,
                                   bool reverse, const std::optional<Array>& lengths);
std::tuple<Array, Array, std::optional<Array>, Array, std::optional<Array>> rnn_layer_backward(
    RnnCell cell, const Array& x_proj, const Array& w_hh, const std::optional<Array>& b_hh, const Array& h0,
    const std::optional<Array>& c0, bool reverse, const std::optional<Array>& lengths, const Array& out,
    const Array& saved, const Array& grad_out);

// linear algebra (ops_linalg.cpp)
// bias (length n, added to every row) and the epilogue (Identity, Relu or Gelu) run in the
// GEMM's write-back. float16/bfloat16: tensor cores on CUDA; on the CPU through float32.
Array matmul(const Array& a, const Array& b, const Array* bias = nullptr,
             UnaryOp epilogue = UnaryOp::Identity);
// act(x @ weight^T + bias), as torch.nn.functional.linear; weight is (out, in).
Array linear(const Array& x, const Array& weight, const Array* bias, UnaryOp epilogue);
// Whether float32 matmuls on CUDA may use TF32 tensor cores (pydl.backends.cuda.matmul.allow_tf32).
void set_allow_tf32(bool allow);
bool allow_tf32();

// indexing and shapes (ops_index.cpp)
// Resampling along dim (ops_index.cpp; kernels/common/resample.h): out_size outputs, each from
// src.numel() / out_size source positions (int64, in range), weighted (weight of x's float
// dtype, one per position) or, with one position and no weight, copied.
Array resample(const Array& x, int64_t dim, const Array& src, const Array* weight, int64_t out_size);
Array resample_backward(const Array& grad, int64_t dim, const Array& src, const Array* weight, int64_t in_size);
Array gather(const Array& x, int64_t dim, const Array& index);
Array scatter_add(const Array& x, int64_t dim, const Array& index, const Array& src);
// x with src's entries combined into it at index along dim (kernels/common/scatter.h).
Array scatter_reduce(ScatterOp op, const Array& x, int64_t dim, const Array& index, const Array& src);
Array index_select(const Array& x, int64_t dim, const Array& index);
Array index_add(const Array& x, int64_t dim, const Array& index, const Array& src);
Array cat(const std::vector<Array>& xs, int64_t dim);

// creation (ops_creation.cpp)
Array full(const Shape& shape, double value, DType dtype, Device device);
Array arange(double start, double end, double step, DType dtype, Device device);
Array uniform(const Shape& shape, double low, double high, DType dtype, Device device);
Array normal(const Shape& shape, double mean, double std, DType dtype, Device device);

}  // namespace pydl
