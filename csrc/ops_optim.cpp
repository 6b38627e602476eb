// Optimizer updates: argument checks, then one kernel call for the whole list (on CUDA a
// multi-tensor launch per 48 tensors of one dtype, kernels/cuda/optim.h). The params of
// one call share a device.
// A parameter or state that is not contiguous is updated in a contiguous copy and
// written back after the kernel; gradients are only read (made contiguous when needed).
#include "csrc/ops_optim.h"

#include <initializer_list>
#include <utility>

#include "csrc/cuda/dispatch.h"
#include "csrc/errors.h"
#include "kernels/cpu/optim.h"
#include "kernels/cuda/optim.h"

namespace pydl {

namespace {

// The slots of one call, and what must outlive the kernel or follow it.
struct Plan {
  const char* op;
  std::vector<OptimSlot> slots;
  std::vector<Array> keep;                           // contiguous copies the slots point into
  std::vector<std::pair<Array, Array>> write_back;  // (destination, contiguous copy)
  Device device;                                      // of every param

  int64_t count() const { return static_cast<int64_t>(slots.size()); }

  void* writable(const Array& a) {
    if (a.is_contiguous()) return a.data();
    Array c = a.contiguous();
    write_back.emplace_back(a, c);
    return c.data();
  }
  const void* readable(const Array& a) {
    if (a.is_contiguous()) return a.data();
    keep.push_back(a.contiguous());
    return keep.back().data();
  }
  // After the kernel: the contiguous copies written back into the non-contiguous originals.
  void finish() {
    for (auto& [dst, src] : write_back) dst.copy_from(src);
  }
};

void check_count(const char* op, const char* what, size_t n, size_t got) {
  if (got != n) fail<ValueError>(op, ": expected one ", what, " per param (", n, "), got ", got);
}

// A tensor updated in place must not be a broadcast view (several elements, one address).
void check_writable(const char* op, const char* what, size_t i, const Array& a) {
  for (int64_t d = 0; d < a.ndim(); ++d)
    if (a.strides()[d] == 0 && a.shape()[d] > 1)
      fail<ValueError>(op, ": ", what, " ", i, " is a broadcast view and cannot be updated in place");
}

const Array& deref(const char* op, const char* what, size_t i, const Array* a) {
  if (!a) fail<TypeError>(op, ": ", what, " ", i, " is None, expected an array");
  return *a;
}

// `a` (a gradient or a state of params[i]) must match the param's device, dtype and shape.
void check_like(const char* op, const char* what, size_t i, const Array& a, const Array& param) {
  if (a.device() != param.device())
    fail<ValueError>(op, ": ", what, " ", i, " is on ", a.device().str(), ", param ", i, " on ",
                     param.device().str());
  if (a.dtype() != param.dtype())
    fail<ValueError>(op, ": ", what, " ", i, " is ", dtype_name(a.dtype()), ", expected ", dtype_name(param.dtype()),
                     " like param ", i);
  if (a.shape() != param.shape())
    fail<ValueError>(op, ": ", what, " ", i, " has shape ", shape_str(a.shape()), ", expected ",
                     shape_str(param.shape()), " like param ", i);
}

// Checks the params and their grads: first, so that a bad param is named as such.
void check_params(const char* op, const ArrayList& params, const ArrayList& grads) {
  check_count(op, "grad", params.size(), grads.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Array& x = deref(op, "param", i, params[i]);
    if (x.device() != deref(op, "param", 0, params[0]).device())
      fail<ValueError>(op, ": param ", i, " is on ", x.device().str(), ", param 0 on ",
                       params[0]->device().str(), " (one call updates the params of one device)");
    if (!is_floating(x.dtype()))
      fail<TypeError>(op, ": expected float32 or float64 params, got ", dtype_name(x.dtype()), " (param ", i, ")");
    check_like(op, "grad", i, deref(op, "grad", i, grads[i]), x);
    check_writable(op, "param", i, x);
  }
}

// Lays out the slots of checked params and grads. Called after every check, so that a
// refused call has allocated nothing (and it has written nothing in any case).
Plan plan(const char* op, const ArrayList& params, const ArrayList& grads) {
  Plan p{op, std::vector<OptimSlot>(params.size()), {}, {}, params.empty() ? Device{} : params[0]->device()};
  for (size_t i = 0; i < params.size(); ++i) {
    OptimSlot& s = p.slots[i];
    s.dtype = params[i]->dtype();
    s.numel = params[i]->numel();
    s.param = p.writable(*params[i]);
    s.grad = p.readable(*grads[i]);
  }
  return p;
}

// Checks one list of state buffers against the params; attach_states points the slots at them.
void check_states(const char* op, const char* what, const ArrayList& params, const ArrayList& states) {
  check_count(op, what, params.size(), states.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Array& s = deref(op, what, i, states[i]);
    check_like(op, what, i, s, *params[i]);
    check_writable(op, what, i, s);
  }
}
void attach_states(Plan& p, int index, const ArrayList& states) {
  for (size_t i = 0; i < states.size(); ++i) p.slots[i].state[index] = p.writable(*states[i]);
}

void check_nonnegative(const char* op, std::initializer_list<std::pair<const char*, double>> named) {
  for (const auto& [name, v] : named)
    if (!(v >= 0)) fail<ValueError>(op, ": expected ", name, " >= 0, got ", v);
}
void check_unit(const char* op, const char* name, double v, bool closed) {  // [0, 1) or [0, 1]
  if (!(v >= 0 && (closed ? v <= 1 : v < 1)))
    fail<ValueError>(op, ": expected 0 <= ", name, closed ? " <= 1" : " < 1", ", got ", v);
}

// One step count per param, or one for all.
void check_steps(const char* op, size_t n, const std::vector<int64_t>& steps) {
  if (steps.size() != 1 && steps.size() != n)
    fail<ValueError>(op, ": expected one step count, or one per param (", n, "), got ", steps.size());
  for (int64_t t : steps)
    if (t < 1) fail<ValueError>(op, ": expected step counts >= 1 (this update included), got ", t);
}
void attach_steps(Plan& p, const std::vector<int64_t>& steps) {
  for (size_t i = 0; i < p.slots.size(); ++i) p.slots[i].step = steps.size() == 1 ? steps[0] : steps[i];
}

}  // namespace

std::vector<std::optional<Array>> sgd_update(const ArrayList& params, const ArrayList& grads,
                                             const ArrayList& momentum_buffers, const SgdHyper& h) {
  const char* op = "sgd";
  check_nonnegative(op, {{"lr", h.lr}, {"momentum", h.momentum}, {"weight_decay", h.weight_decay}});
  if (h.nesterov && (h.momentum <= 0 || h.dampening != 0))
    fail<ValueError>(op, ": nesterov momentum requires a momentum and zero dampening, got momentum ", h.momentum,
                     ", dampening ", h.dampening);
  check_params(op, params, grads);
  const bool use_buffers = h.momentum != 0;
  if (use_buffers) {
    check_count(op, "momentum_buffer", params.size(), momentum_buffers.size());
    for (size_t i = 0; i < params.size(); ++i)
      if (const Array* b = momentum_buffers[i]) {
        check_like(op, "momentum_buffer", i, *b, *params[i]);
        check_writable(op, "momentum_buffer", i, *b);
      }
  }
  Plan p = plan(op, params, grads);
  std::vector<std::optional<Array>> created(use_buffers ? params.size() : 0);
  for (size_t i = 0; i < created.size(); ++i) {
    if (momentum_buffers[i]) {
      p.slots[i].state[0] = p.writable(*momentum_buffers[i]);
    } else {  // the first step: the kernel writes the gradient in
      created[i] = Array::empty(params[i]->shape(), params[i]->dtype(), params[i]->device());
      p.slots[i].state[0] = created[i]->data();
      p.slots[i].init = true;
    }
  }
  PYDL_KERNEL(p.device, sgd, h, p.slots.data(), p.count());
  p.finish();
  return created;
}

void adam_update(const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs,
                 const ArrayList& exp_avg_sqs, const ArrayList& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                 const AdamHyper& h) {
  const char* op = h.decoupled_weight_decay ? "adamw" : "adam";
  check_nonnegative(op, {{"lr", h.lr}, {"eps", h.eps}});
  check_unit(op, "beta1", h.beta1, false);
  check_unit(op, "beta2", h.beta2, false);
  check_nonnegative(op, {{"weight_decay", h.weight_decay}});
  check_params(op, params, grads);
  check_states(op, "exp_avg", params, exp_avgs);
  check_states(op, "exp_avg_sq", params, exp_avg_sqs);
  if (h.amsgrad) check_states(op, "max_exp_avg_sq", params, max_exp_avg_sqs);
  check_steps(op, params.size(), steps);
  Plan p = plan(op, params, grads);
  attach_steps(p, steps);
  attach_states(p, 0, exp_avgs);
  attach_states(p, 1, exp_avg_sqs);
  if (h.amsgrad) attach_states(p, 2, max_exp_avg_sqs);
  PYDL_KERNEL(p.device, adam, h, p.slots.data(), p.count());
  p.finish();
}

void rmsprop_update(const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
                    const ArrayList& grad_avgs, const ArrayList& momentum_buffers, const RmspropHyper& h) {
  const char* op = "rmsprop";
  check_nonnegative(op, {{"lr", h.lr}, {"eps", h.eps}, {"momentum", h.momentum}, {"weight_decay", h.weight_decay},
                         {"alpha", h.alpha}});
  check_params(op, params, grads);
  check_states(op, "square_avg", params, square_avgs);
  if (h.momentum > 0) check_states(op, "momentum_buffer", params, momentum_buffers);
  if (h.centered) check_states(op, "grad_avg", params, grad_avgs);
  Plan p = plan(op, params, grads);
  attach_states(p, 0, square_avgs);
  if (h.momentum > 0) attach_states(p, 1, momentum_buffers);
  if (h.centered) attach_states(p, 2, grad_avgs);
  PYDL_KERNEL(p.device, rmsprop, h, p.slots.data(), p.count());
  p.finish();
}

void adagrad_update(const ArrayList& params, const ArrayList& grads, const ArrayList& state_sums,
                    const std::vector<int64_t>& steps, const AdagradHyper& h) {
  const char* op = "adagrad";
  check_nonnegative(op, {{"lr", h.lr}, {"lr_decay", h.lr_decay}, {"weight_decay", h.weight_decay}, {"eps", h.eps}});
  check_params(op, params, grads);
  check_states(op, "state_sum", params, state_sums);
  check_steps(op, params.size(), steps);
  Plan p = plan(op, params, grads);
  attach_steps(p, steps);
  attach_states(p, 0, state_sums);
  PYDL_KERNEL(p.device, adagrad, h, p.slots.data(), p.count());
  p.finish();
}

void adadelta_update(const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs,
                     const ArrayList& acc_deltas, const AdadeltaHyper& h) {
  const char* op = "adadelta";
  check_nonnegative(op, {{"lr", h.lr}});
  check_unit(op, "rho", h.rho, true);
  check_nonnegative(op, {{"eps", h.eps}, {"weight_decay", h.weight_decay}});
  check_params(op, params, grads);
  check_states(op, "square_avg", params, square_avgs);
  check_states(op, "acc_delta", params, acc_deltas);
  Plan p = plan(op, params, grads);
  attach_states(p, 0, square_avgs);
  attach_states(p, 1, acc_deltas);
  PYDL_KERNEL(p.device, adadelta, h, p.slots.data(), p.count());
  p.finish();
}

}  // namespace pydl
