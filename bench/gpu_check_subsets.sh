# The test subsets bench/gpu_check.sh runs under compute-sanitizer (sourced by it; each
# <STEP>_PATHS / <STEP>_K set only where the caller left it empty): representative tests
# sized to the steps' budgets, no PyTorch oracles, no training runs. List what one selects
# with `pytest --collect-only -q -k "$MEMCHECK_K" $MEMCHECK_PATHS`.
# shellcheck shell=bash
default MEMCHECK_PATHS tests/test_cuda_mlp.py tests/test_cuda_gemm.py tests/test_cuda_conv.py \
  tests/test_index_ops.py tests/test_cuda_parity.py
default MEMCHECK_K \
  "(test_cuda_mlp and (mlp_gradients_match_cpu or dropout_module_and_backward or float32-1234" \
  "or (softmax_forward_backward and float32 and (1025 or 32003 or 4-5-6))" \
  "or (test_cross_entropy and float32 and mean-0.1-True and (1003 or 32000 or 4-5))" \
  "or (batch_norm_training and True-float32) or (nll_loss and mean-True-float32)" \
  "or (pointwise_losses and 70001-mean-True-float32)" \
  "or (optimizer_steps and float32 and (adam or momentum))" \
  "or (activation_forward_backward and 1001-float32)))" \
  "or (test_cuda_gemm and ((sgemm_every and 130-129-67)" \
  "or (130-129-67 and (NN or TT) and (tf32_every or (half_every and dt0)))" \
  "or misaligned or beyond_grid or (linear_epilogues and 130-10-100 and relu)))" \
  "or (test_cuda_conv and ((float32 and ((conv2d_matches_cpu and 67) or (max_pool2d_matches and True)" \
  "or avg_pool2d_matches or adaptive_avg_pool2d)) or lenet5_forward_backward or basic_block" \
  "or low_level_ops or non_contiguous_unbatched))" \
  "or (test_index_ops and cuda and ((float32 and scatter_add) or index_add_repeated" \
  "or uint8_accumulation))" \
  "or (test_cuda_parity and (gather_scatter_add or index_select_index_add or strided_and_offset" \
  "or matmul_batched_broadcast_vectors_float64))"
default RACECHECK_PATHS tests/test_cuda_gemm.py tests/test_cuda_mlp.py tests/test_cuda_conv.py \
  tests/test_cuda_parity.py
default RACECHECK_K \
  "(test_cuda_gemm and 130-129-67 and NN and (sgemm_every or tf32_every or (half_every and dt0)))" \
  "or (test_cuda_mlp and float32 and ((softmax_forward_backward and 1025)" \
  "or (test_cross_entropy and mean-0.1-True and (1003 or 64-10))" \
  "or (batch_norm_training and True-float32 and (512 or 64))" \
  "or (nll_loss and mean-True) or (pointwise_losses and 70001-sum-False-float32-mse)))" \
  "or (test_cuda_conv and (weight_gradient_is_reproducible or low_level_ops))" \
  "or (test_cuda_parity and (matmul_batched_broadcast_vectors_float64" \
  "or (test_reductions and 200000 and (sum or var))))"
default INITCHECK_PATHS tests/test_cuda_gemm.py tests/test_cuda_mlp.py tests/test_cuda_conv.py \
  tests/test_index_ops.py tests/test_cuda_runtime.py
default INITCHECK_K \
  "(test_cuda_gemm and beta_zero and (sgemm_128x128 or mma_128x128))" \
  "or (test_cuda_mlp and (mlp_gradients_match_cpu or dropout_module_and_backward or float32-adam]" \
  "or (softmax_forward_backward and float32 and 1025) or (batch_norm_training and True-float32 and 512)" \
  "or (test_cross_entropy and float32 and mean-0.1-True and 1003)))" \
  "or (test_cuda_conv and lenet5_forward_backward)" \
  "or (test_index_ops and uint8_accumulation and cuda-13) or (test_cuda_runtime and empty_and_zero_d)"
