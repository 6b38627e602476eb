"""One direction of one recurrent layer over a whole sequence, as one Function: the input's
projection for all steps in one GEMM, then the time loop in C++ or CUDA (csrc/ops_rnn.cpp), and
the backward through time as one kernel call plus the projection's two GEMMs. nn.RNN, nn.LSTM and
nn.GRU (pydl/nn/rnn.py) stack these."""
from pydl import _C
from pydl.autograd.function import Function
from pydl.ops._util import Reduce
from pydl.tensor import _wrap

__all__ = []

CELLS = {"RNN_TANH": _C.Rnn.RNN_TANH, "RNN_RELU": _C.Rnn.RNN_RELU, "LSTM": _C.Rnn.LSTM, "GRU": _C.Rnn.GRU}


def _arr(t):
    return None if t is None else t._a


class RecurrentLayer(Function):
    """x (steps, batch, input) -> the hidden states (steps, batch, hidden), followed for the LSTM by
    its last cell state (one more (batch, hidden) block). b_hh is added to the projection except
    for the GRU, whose b_hh sits inside the reset gate's product. lengths (batch,) int64: past its
    length a row's state passes through unchanged (its outputs there are its last state)."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, cell, reverse, lengths=None):
        steps, batch, features = x._a.shape
        gru = cell == _C.Rnn.GRU
        bias = b_ih._a if b_ih is not None else None
        if b_hh is not None and not gru:
            bias = b_hh._a if bias is None else _C.binary(_C.Binary.ADD, bias, b_hh._a)
        x2 = x._a.reshape([steps * batch, features])
        x_proj = _C.linear(x2, w_ih._a, bias, False).reshape([steps, batch, w_ih._a.shape[0]])
        gru_bias = None
        if gru:  # the kernel always takes the GRU's b_hh (inside the reset gate's product)
            gru_bias = _arr(b_hh) if b_hh is not None else _C.full([w_hh._a.shape[0]], 0.0, x._a.dtype, x._a.device)
        ctx.args = (cell, x_proj, w_hh._a, gru_bias, h0._a, _arr(c0), reverse, _arr(lengths))
        out, saved = _C.rnn_layer(*ctx.args)
        ctx.x2, ctx.w_ih, ctx.out, ctx.saved = x2, w_ih._a, out, saved
        ctx.has = (b_ih is not None, b_hh is not None)
        return _wrap(out)

    @staticmethod
    def backward(ctx, g):
        g_proj, g_w_hh, g_b_hh, g_h0, g_c0 = _C.rnn_layer_backward(*ctx.args, ctx.out, ctx.saved, g._a)
        steps, batch = g_proj.shape[0], g_proj.shape[1]
        g2 = g_proj.reshape([steps * batch, g_proj.shape[2]])
        need = ctx.needs_input_grad
        gx = _wrap(_C.matmul(g2, ctx.w_ih).reshape([steps, batch, ctx.w_ih.shape[1]])) if need[0] else None
        gw_ih = _wrap(_C.matmul(g2.transpose(0, 1), ctx.x2)) if need[1] else None
        gb_proj = _C.reduce(Reduce.SUM, g2, [0], False, 0.0) if any(ctx.has) else None
        gb_ih = _wrap(gb_proj) if ctx.has[0] and need[3] else None
        gb_hh = None
        if ctx.has[1] and need[4]:
            gb_hh = _wrap(g_b_hh if ctx.args[0] == _C.Rnn.GRU else gb_proj)
        gc0 = _wrap(g_c0) if g_c0 is not None and need[6] else None
        return (gx, gw_ih, _wrap(g_w_hh) if need[2] else None, gb_ih, gb_hh, _wrap(g_h0) if need[5] else None, gc0,
                None, None, None)
