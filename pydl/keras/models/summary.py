"""Model.summary(): one row per layer (name and type, output shape, parameter count), then the
totals with their size in memory, in Keras's layout."""


def _readable_size(n_bytes):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes < 1024:
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} PB"


def _shape_text(shape):
    if shape is None:
        return "?"
    return str(shape) if not isinstance(shape, list) else "[" + ", ".join(map(str, shape)) + "]"


def _count(weights):
    return sum(w.numel() for w in weights), sum(w.numel() * w.element_size() for w in weights)


def print_summary(model, line_length=None, print_fn=None):
    if not model.built:
        raise ValueError(f"Model '{model.name}' has not yet been built. Build the model first by calling build() "
                         f"or by calling the model on a batch of data (or give it an Input).")
    print_fn = print_fn or print
    rows = [(f"{layer.name} ({type(layer).__name__})", _shape_text(layer._output_shape),
             f"{_count(layer.weights)[0]:,}") for layer in model.layers]
    header = ("Layer (type)", "Output Shape", "Param #")
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) + 3 for i in range(3)]
    widths[0], widths[1] = max(widths[0], 29), max(widths[1], 26)
    total = line_length or sum(widths) + 1
    line = lambda cells: (" " + "".join(c.ljust(w) for c, w in zip(cells, widths))).rstrip()  # noqa: E731
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * total)
    print_fn(line(header))
    print_fn("=" * total)
    for i, row in enumerate(rows):
        print_fn(line(row))
        if i < len(rows) - 1:
            print_fn("")
    print_fn("=" * total)
    for label, weights in (("Total", model.weights), ("Trainable", model.trainable_weights),
                           ("Non-trainable", model.non_trainable_weights)):
        n, size = _count(weights)
        print_fn(f" {label} params: {n:,} ({_readable_size(size)})")
    print_fn("_" * total)
