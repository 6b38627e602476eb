#include "csrc/array.h"

#include <algorithm>

#include "csrc/cuda/dispatch.h"
#include "csrc/cuda/host_allocator.h"
#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"
#include "csrc/loop.h"
#include "csrc/size_check.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/elementwise.h"

namespace pydl {

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    // Only a shape holding a 0 can overflow here (its numel is 0): saturate, nothing is addressed.
    if (__builtin_mul_overflow(s, std::max<int64_t>(shape[d], 1), &s)) s = INT64_MAX;
  }
  return strides;
}

int64_t shape_numel(const Shape& shape) { return checked_numel(shape, "tensor"); }

Array::Array(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      numel_(shape_numel(shape_)), dtype_(dtype) {}

Array Array::empty(const Shape& shape, DType dtype, Device device, const char* op) {
  const size_t bytes = checked_nbytes(shape, dtype, op);
  if (!device.is_cpu() && cuda::device_count() == 0) fail<RuntimeError>(cuda::unavailable_reason());
  auto storage = Storage::allocate(bytes, device);
  return Array(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Array Array::empty_pinned(const Shape& shape, DType dtype, const char* op) {
  const size_t bytes = checked_nbytes(shape, dtype, op);
  return Array(Storage::allocate_pinned(bytes, op), shape, contiguous_strides(shape), 0, dtype);
}

bool Array::is_contiguous() const {
  if (numel_ == 0) return true;  // no element to be out of place (as PyTorch)
  int64_t expected = 1;
  for (int64_t d = ndim() - 1; d >= 0; --d) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) return false;
    expected *= shape_[d];
  }
  return true;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = std::max<int64_t>(ndim, 1);  // a 0-d tensor accepts dim 0 and -1
  if (dim < -n || dim >= n)
    fail<IndexError>(op, ": dim ", dim, " is out of range for a tensor of ", ndim, " dimension(s)");
  return dim < 0 ? dim + n : dim;
}

// Infers one -1 entry of `shape` from `numel`.
static Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer_at >= 0) fail<ValueError>(op, ": only one dimension can be -1, got ", shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      fail<ValueError>(op, ": invalid dimension ", out[i], " in ", shape_str(shape));
    } else {
      known = checked_mul(known, out[i], op, shape);
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0)
      fail<ValueError>(op, ": shape ", shape_str(shape), " is invalid for input of size ", numel);
    out[infer_at] = numel / known;
  } else if (known != numel) {
    fail<ValueError>(op, ": shape ", shape_str(shape), " is invalid for input of size ", numel);
  }
  return out;
}

// Strides for viewing this array's elements with `shape` without a copy, if possible
// (PyTorch's computeStride: each run of merged input dims must be contiguous in itself).
static bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape, Shape& strides) {
  strides.assign(shape.size(), 0);
  if (old_shape.empty() || shape_numel(old_shape) == 0) {
    strides = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Array Array::view(const Shape& shape, const char* op) const {
  Shape target = infer_shape(shape, numel_, op);
  Shape strides;
  if (!view_strides(shape_, strides_, target, strides))
    fail<ValueError>(op, ": cannot view a tensor of shape ", shape_str(shape_), " and strides ", shape_str(strides_),
                     " as ", shape_str(target), " without a copy; use reshape()");
  return Array(storage_, target, strides, offset_, dtype_);
}

Array Array::reshape(const Shape& shape) const {
  Shape target = infer_shape(shape, numel_, "reshape");
  Shape strides;
  if (view_strides(shape_, strides_, target, strides)) return Array(storage_, target, strides, offset_, dtype_);
  return contiguous().view(target, "reshape");
}

Array Array::permute(const std::vector<int64_t>& dims) const {
  if (static_cast<int64_t>(dims.size()) != ndim())
    fail<ValueError>("permute: expected ", ndim(), " dims, got ", dims.size());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], ndim(), "permute");
    if (seen[d]) fail<ValueError>("permute: dim ", d, " appears more than once");
    seen[d] = true;
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return Array(storage_, shape, strides, offset_, dtype_);
}

Array Array::transpose(int64_t d0, int64_t d1) const {
  if (ndim() < 2 && (d0 == 0 || d0 == -1) && (d1 == 0 || d1 == -1)) return *this;
  d0 = wrap_dim(d0, ndim(), "transpose");
  d1 = wrap_dim(d1, ndim(), "transpose");
  Shape shape = shape_, strides = strides_;
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return Array(storage_, shape, strides, offset_, dtype_);
}

Array Array::slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const {
  if (ndim() == 0) fail<IndexError>("slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, ndim(), "slice");
  if (step <= 0) fail<ValueError>("slice: step must be positive, got ", step);
  const int64_t n = shape_[dim];
  auto clampi = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clampi(start);
  stop = clampi(stop);
  const int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  Shape shape = shape_, strides = strides_;
  shape[dim] = len;
  strides[dim] *= step;
  return Array(storage_, shape, strides, offset_ + (len ? start * strides_[dim] : 0), dtype_);
}

Array Array::select(int64_t dim, int64_t index) const {
  if (ndim() == 0) fail<IndexError>("select: cannot index a 0-d tensor");
  dim = wrap_dim(dim, ndim(), "select");
  const int64_t n = shape_[dim];
  if (index < -n || index >= n)
    fail<IndexError>("index ", index, " is out of bounds for dimension ", dim, " with size ", n);
  if (index < 0) index += n;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return Array(storage_, shape, strides, offset_ + index * strides_[dim], dtype_);
}

Array Array::expand(const Shape& shape) const {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd < ndim())
    fail<ValueError>("expand: cannot expand ", shape_str(shape_), " to fewer dimensions ", shape_str(shape));
  Shape strides(nd, 0), out(shape);
  for (int64_t i = nd - 1, j = ndim() - 1; i >= 0; --i, --j) {
    if (j >= 0) {
      if (out[i] == -1) out[i] = shape_[j];
      if (shape_[j] == out[i]) strides[i] = strides_[j];
      else if (shape_[j] != 1)
        fail<ValueError>("expand: cannot broadcast ", shape_str(shape_), " to ", shape_str(shape));
    } else if (out[i] < 0) {
      fail<ValueError>("expand: -1 is not allowed for a new leading dimension in ", shape_str(shape));
    }
  }
  checked_numel(out, "expand");
  return Array(storage_, out, strides, offset_, dtype_);
}

Array Array::squeeze(const std::vector<int64_t>& dims) const {
  std::vector<bool> drop(shape_.size(), false);
  if (dims.empty()) {
    for (size_t d = 0; d < shape_.size(); ++d) drop[d] = shape_[d] == 1;
  } else {
    for (int64_t d : dims) {
      int64_t w = wrap_dim(d, ndim(), "squeeze");  // checked even for a 0-d tensor, which has none to drop
      if (ndim() > 0) drop[w] = shape_[w] == 1;     // PyTorch: squeezing a dim that is not 1 leaves it
    }
  }
  Shape shape, strides;
  for (size_t d = 0; d < shape_.size(); ++d)
    if (!drop[d]) {
      shape.push_back(shape_[d]);
      strides.push_back(strides_[d]);
    }
  return Array(storage_, shape, strides, offset_, dtype_);
}

Array Array::view_as(DType to) const {
  const int64_t from_size = static_cast<int64_t>(itemsize()), to_size = static_cast<int64_t>(pydl::itemsize(to));
  if (from_size == to_size) return Array(storage_, shape_, strides_, offset_, to);
  if (ndim() == 0 || strides_.back() != 1)
    fail<ValueError>("view: changing ", dtype_name(dtype_), " to ", dtype_name(to),
                     " (another element size) needs a last dim of stride 1, got shape ", shape_str(shape_));
  Shape shape = shape_, strides = strides_;
  int64_t offset = offset_;
  if (to_size < from_size) {
    const int64_t ratio = from_size / to_size;
    shape.back() *= ratio;
    for (size_t d = 0; d + 1 < strides.size(); ++d) strides[d] *= ratio;
    offset *= ratio;
  } else {
    const int64_t ratio = to_size / from_size;
    bool aligned = shape.back() % ratio == 0 && offset % ratio == 0;
    for (size_t d = 0; d + 1 < strides.size(); ++d) aligned &= strides[d] % ratio == 0;
    if (!aligned)
      fail<ValueError>("view: changing ", dtype_name(dtype_), " to ", dtype_name(to), " needs the last dim (",
                       shape.back(), "), the other strides and the offset to be multiples of ", ratio);
    shape.back() /= ratio;
    for (size_t d = 0; d + 1 < strides.size(); ++d) strides[d] /= ratio;
    offset /= ratio;
  }
  return Array(storage_, shape, strides, offset, to);
}

Array Array::unsqueeze(int64_t dim) const {
  dim = wrap_dim(dim, ndim() + 1, "unsqueeze");
  Shape shape = shape_, strides = strides_;
  int64_t stride = dim < ndim() ? strides_[dim] * shape_[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return Array(storage_, shape, strides, offset_, dtype_);
}

Array Array::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Array Array::clone() const {
  Array out = empty(shape_, dtype_, device());
  out.copy_from(*this);
  return out;
}

Array Array::astype(DType dtype) const {
  if (dtype == dtype_) return *this;
  Array out = empty(shape_, dtype, device());
  out.copy_from(*this);
  return out;
}

void Array::copy_from(const Array& src, bool non_blocking) {
  if (src.device() != device()) {
    if (!src.is_contiguous() || src.dtype() != dtype_ || src.shape() != shape_ || !is_contiguous())
      return copy_from(src.astype(dtype_).expand(shape_).contiguous().to(device(), non_blocking));
    const size_t bytes = numel_ * itemsize();
    if (device().is_cpu()) cuda::copy_to_host(data(), src.data(), bytes, src.device().index);
    else if (non_blocking && src.is_pinned())
      cuda::copy_pinned_to_device(data(), src.data(), bytes, device().index, src.storage()->data);
    else cuda::copy_to_device(data(), src.data(), bytes, device().index);
    return;
  }
  Array source = src.shape() == shape_ ? src : src.expand(shape_);
  if (on_cuda(*this) && source.is_contiguous() && is_contiguous() && source.dtype() == dtype_)
    return cuda::copy_device_to_device(data(), source.data(), numel_ * itemsize(), device().index);
  StridedLoop loop = make_loop(*this, {&source});
  PYDL_KERNEL(device(), copy, dtype_, source.dtype(), loop);
}

void Array::fill(double value) {
  StridedLoop loop = make_loop(*this, {});
  PYDL_KERNEL(device(), fill, dtype_, loop, value);
}

Array Array::to(Device device, bool non_blocking) const {
  if (device == this->device()) return *this;
  Array out = empty(shape_, dtype_, device);
  out.copy_from(*this, non_blocking);
  return out;
}

Array Array::pin_memory() const {
  if (is_pinned()) return *this;
  if (!device().is_cpu())
    fail<RuntimeError>("pin_memory: only CPU tensors can be pinned, got a tensor on ", device().str());
  Array out = empty_pinned(shape_, dtype_, "pin_memory");
  out.copy_from(*this);
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ValueError>(op, ": shapes ", shape_str(a), " and ", shape_str(b), " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void check_same_device(const Array& a, const Array& b, const char* op) {
  if (a.device() != b.device())
    fail<RuntimeError>(op, ": expected all tensors on the same device, got ", a.device().str(), " and ",
                       b.device().str());
}

void check_pair(const Array& a, const Array& b, const char* op, const char* a_name, const char* b_name) {
  check_same_device(a, b, op);
  if (a.shape() != b.shape())
    fail<ValueError>(op, ": ", a_name, " has shape ", shape_str(a.shape()), ", expected ", shape_str(b.shape()),
                     " like the ", b_name);
  if (a.dtype() != b.dtype())
    fail<TypeError>(op, ": ", a_name, " is ", dtype_name(a.dtype()), ", expected ", dtype_name(b.dtype()),
                    " like the ", b_name);
}

void check_float(const Array& x, const char* op, const char* what) {
  if (!is_floating(x.dtype()))
    fail<TypeError>(op, ": expected a float32 or float64 ", what, ", got ", dtype_name(x.dtype()));
}

void check_cpu(const Array& a, const char* op) {
  if (!a.device().is_cpu())
    fail<RuntimeError>(op, ": not implemented for ", a.device().str(), " tensors yet");
}

}  // namespace pydl
