#include "csrc/size_check.h"

#include "csrc/errors.h"

namespace pydl {

namespace {

[[noreturn]] void overflow(const char* op, const Shape& shape, const char* what) {
  fail<ValueError>(op, ": a tensor of shape ", shape_str(shape), " has more ", what, " than a 64-bit size can count");
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const char* op, const Shape& shape) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow(op, shape, "elements");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const char* op, const Shape& shape) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow(op, shape, "elements");
  return r;
}

int64_t checked_numel(const Shape& shape, const char* op) {
  for (int64_t s : shape)
    if (s < 0) fail<ValueError>(op, ": negative dimension in shape ", shape_str(shape));
  for (int64_t s : shape)
    if (s == 0) return 0;  // (0, 2**62, 2**62) holds nothing, as in PyTorch
  int64_t n = 1;
  for (int64_t s : shape) n = checked_mul(n, s, op, shape);
  return n;
}

size_t checked_nbytes(const Shape& shape, DType dtype, const char* op) {
  int64_t bytes;
  if (__builtin_mul_overflow(checked_numel(shape, op), static_cast<int64_t>(itemsize(dtype)), &bytes))
    overflow(op, shape, "bytes");
  return static_cast<size_t>(bytes);
}

}  // namespace pydl
