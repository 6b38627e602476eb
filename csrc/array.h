// Array: a strided view (shape, strides in elements, offset, dtype) of a shared Storage.
// View operations return Arrays that share the storage; nothing here loops over data.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "csrc/device.h"
#include "csrc/storage.h"
#include "kernels/common/dtype.h"

namespace pydl {

using Shape = std::vector<int64_t>;

// shape with its last two dims replaced by a and b (shape has at least two).
inline Shape with_last_two(const Shape& shape, int64_t a, int64_t b) {
  Shape out(shape.begin(), shape.end() - 2);
  out.push_back(a);
  out.push_back(b);
  return out;
}

Shape contiguous_strides(const Shape& shape);
int64_t shape_numel(const Shape& shape);  // checked: ValueError on overflow (csrc/size_check.h)

class Array {
 public:
  Array() = default;
  Array(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  // Uninitialized; `op` names the caller when the shape's size overflows.
  static Array empty(const Shape& shape, DType dtype, Device device, const char* op = "empty");
  // Uninitialized, on the CPU in pinned memory (csrc/cuda/host_allocator.h); RuntimeError naming
  // `op` and why when CUDA is unusable.
  static Array empty_pinned(const Shape& shape, DType dtype, const char* op);

  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool is_pinned() const { return storage_->pinned; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t itemsize() const { return pydl::itemsize(dtype_); }
  bool is_contiguous() const;
  char* data() const { return static_cast<char*>(storage_->data) + offset_ * static_cast<int64_t>(itemsize()); }

  // Views. `op` names the calling op in error messages.
  Array view(const Shape& shape, const char* op = "view") const;  // no copy, or ValueError
  Array reshape(const Shape& shape) const;                         // a view when possible, else a copy
  Array permute(const std::vector<int64_t>& dims) const;
  Array transpose(int64_t d0, int64_t d1) const;
  Array slice(int64_t dim, int64_t start, int64_t stop, int64_t step) const;  // Python slice semantics
  Array select(int64_t dim, int64_t index) const;                             // drops `dim`
  Array expand(const Shape& shape) const;                                     // numpy broadcast_to
  Array squeeze(const std::vector<int64_t>& dims) const;                      // all size-1 dims if empty
  Array unsqueeze(int64_t dim) const;
  // The same bytes read as `to` (as torch.Tensor.view(dtype)): a wider or narrower element
  // scales the last dim, which must then be contiguous.
  Array view_as(DType to) const;

  // Copies.
  Array contiguous() const;  // itself when already contiguous
  Array clone() const;
  Array astype(DType dtype) const;  // itself when already that dtype
  // Itself when already there. non_blocking: a copy from pinned memory to a GPU is queued on the
  // device's stream without waiting; every other copy returns once done.
  Array to(Device device, bool non_blocking = false) const;
  Array pin_memory() const;  // a copy in pinned memory; itself when already pinned
  // Broadcasts and casts src into this (a view may be written); non_blocking as for to().
  void copy_from(const Array& src, bool non_blocking = false);
  void fill(double value);

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 1;
  DType dtype_ = DType::Float32;
};

// Resolves a possibly negative dim against ndim; IndexError naming `op` if out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// Numpy broadcasting of two shapes; ValueError naming `op` if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
void check_same_device(const Array& a, const Array& b, const char* op);
// Two arrays that travel together into one kernel (a gradient and what it differentiates):
// same device, shape and dtype, or an error naming op and both arrays.
void check_pair(const Array& a, const Array& b, const char* op, const char* a_name, const char* b_name);
// TypeError unless x is float32 or float64: "op: expected a float32 or float64 <what>, got int64".
void check_float(const Array& x, const char* op, const char* what = "input");
void check_cpu(const Array& a, const char* op);

}  // namespace pydl
