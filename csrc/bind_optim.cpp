// Optimizer update kernels: one call per parameter group, lists in, in-place updates.
// Lists of arrays arrive as pointers (no copies); None in a list becomes a null pointer,
// which only sgd's momentum_buffers accept (ops_optim.cpp checks).
#include <pybind11/stl.h>

#include "csrc/bind.h"
#include "csrc/gil.h"
#include "csrc/ops_optim.h"

namespace py = pybind11;

namespace pydl {

void bind_optim(py::module_& m) {
  m.def(
      "sgd_update",
      [](const ArrayList& params, const ArrayList& grads, const ArrayList& momentum_buffers, double lr,
         double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
        GilRelease release(work_of(params));
        return sgd_update(params, grads, momentum_buffers,
                          SgdHyper{lr, momentum, dampening, weight_decay, nesterov, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::kw_only(), py::arg("lr"),
      py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"), py::arg("maximize"));
  m.def(
      "adam_update",
      [](const ArrayList& params, const ArrayList& grads, const ArrayList& exp_avgs, const ArrayList& exp_avg_sqs,
         const ArrayList& max_exp_avg_sqs, const std::vector<int64_t>& steps, double lr, double beta1, double beta2,
         double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
        GilRelease release(work_of(params));
        adam_update(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                    AdamHyper{lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay});
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
      py::arg("steps"), py::kw_only(), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled_weight_decay"));
  m.def(
      "rmsprop_update",
      [](const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs, const ArrayList& grad_avgs,
         const ArrayList& momentum_buffers, double lr, double alpha, double eps, double weight_decay, double momentum,
         bool centered, bool maximize) {
        GilRelease release(work_of(params));
        rmsprop_update(params, grads, square_avgs, grad_avgs, momentum_buffers,
                       RmspropHyper{lr, alpha, eps, weight_decay, momentum, centered, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("grad_avgs"), py::arg("momentum_buffers"),
      py::kw_only(), py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
      py::arg("centered"), py::arg("maximize"));
  m.def(
      "adagrad_update",
      [](const ArrayList& params, const ArrayList& grads, const ArrayList& state_sums, const std::vector<int64_t>& steps,
         double lr, double lr_decay, double weight_decay, double eps, bool maximize) {
        GilRelease release(work_of(params));
        adagrad_update(params, grads, state_sums, steps, AdagradHyper{lr, lr_decay, weight_decay, eps, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("state_sums"), py::arg("steps"), py::kw_only(), py::arg("lr"),
      py::arg("lr_decay"), py::arg("weight_decay"), py::arg("eps"), py::arg("maximize"));
  m.def(
      "adadelta_update",
      [](const ArrayList& params, const ArrayList& grads, const ArrayList& square_avgs, const ArrayList& acc_deltas, double lr,
         double rho, double eps, double weight_decay, bool maximize) {
        GilRelease release(work_of(params));
        adadelta_update(params, grads, square_avgs, acc_deltas, AdadeltaHyper{lr, rho, eps, weight_decay, maximize});
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("acc_deltas"), py::kw_only(),
      py::arg("lr"), py::arg("rho"), py::arg("eps"), py::arg("weight_decay"), py::arg("maximize"));
}

}  // namespace pydl
