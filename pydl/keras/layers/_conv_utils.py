"""Shared by the convolution and pooling layers: Keras's argument forms, the layout switch
(channels_last data is permuted to pydl's NCHW kernels and back, as views) and 'same' padding."""


def normalize_tuple(value, name, layer):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")


def normalize_padding(padding, layer):
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {padding!r}")
    return p


def normalize_data_format(data_format, layer):
    f = data_format or "channels_last"
    if f not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return f


def check_4d(x, layer, data_format):
    if x.dim() != 4:
        layout = "(batch, height, width, channels)" if data_format == "channels_last" else \
            "(batch, channels, height, width)"
        raise ValueError(f"{layer}: expected a 4-d input {layout}, got shape {tuple(x.shape)}")


def to_nchw(x, data_format):
    return x.permute(0, 3, 1, 2) if data_format == "channels_last" else x


def from_nchw(y, data_format):
    return y.permute(0, 2, 3, 1) if data_format == "channels_last" else y


def same_padding(size, kernel, stride, dilation=(1, 1)):
    """[top, left, bottom, right] for Keras's (TensorFlow's) 'same': the output has ceil(in / stride)
    rows and columns, and an odd total pad puts its extra row/column at the bottom/right."""
    lo, hi = [], []
    for n, k, s, d in zip(size, kernel, stride, dilation):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        lo.append(total // 2)
        hi.append(total - total // 2)
    return lo + hi
