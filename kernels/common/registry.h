// One registry per op family, so that no list is ever kept in step with another by hand.
//
// A family is one X-macro list in its header: PYDL_UNARY_OPS(X) calls X(Name, "name", ...)
// once per op, in order, with the family's own columns after the name (the functor, flags).
// Everything that enumerates the family is expanded from that one list:
//   - the enum:          enum class UnaryOp : int { PYDL_UNARY_OPS(PYDL_ENUM_ENTRY) };
//   - count and names:   PYDL_REGISTRY(UnaryOp, PYDL_UNARY_OPS) gives count_of<UnaryOp>() and
//                        name_of(op) (error messages name the op by it);
//   - the dispatch:      the family's with_<family>() switch has one case per entry
//                        (PYDL_DISPATCH_CASE), calling the entry's functor, so an entry
//                        without a functor fails to compile;
//   - the Python enum:   csrc/bind_enums.cpp binds every registry as a py::enum_ whose values
//                        are the names in capitals (_C.Unary.TANH, _C.DType.FLOAT32).
// Python reads the values from _C; nothing on either side depends on an entry's position.
#pragma once

namespace pydl {

// Specialized by PYDL_REGISTRY for each family's enum.
template <class E>
struct Registry;

#define PYDL_ENUM_ENTRY(Name, ...) Name,
#define PYDL_NAME_ENTRY(Name, name, ...) name,
#define PYDL_COUNT_ENTRY(...) +1

// Use at namespace pydl scope, after the enum E has been declared from LIST.
#define PYDL_REGISTRY(E, LIST)                                            \
  template <>                                                            \
  struct Registry<E> {                                                   \
    static constexpr int count = 0 LIST(PYDL_COUNT_ENTRY);               \
    static constexpr const char* names[count] = {LIST(PYDL_NAME_ENTRY)}; \
  };

// One case of a family's dispatch switch (inside a function template that returns void):
// runs the call and returns where `enabled` (a constant expression: the element type suits
// the entry), else leaves the switch for the caller's refusal. The call is not compiled
// where it is not enabled.
#define PYDL_DISPATCH_CASE(E, Name, enabled, ...) \
  case E::Name:                                   \
    if constexpr (enabled) {                      \
      __VA_ARGS__;                                \
      return;                                     \
    }                                             \
    break;

template <class E>
constexpr int count_of() {
  return Registry<E>::count;
}

template <class E>
constexpr const char* name_of(E e) {
  return Registry<E>::names[static_cast<int>(e)];
}

}  // namespace pydl
