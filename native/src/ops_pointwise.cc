// Elementwise arithmetic and functions (with broadcasting and scalar operands), comparisons,
// selection, in-place updates and reductions.
#include "clp.h"

namespace clp {
namespace {

#define CLP_UNARY(Fn, op, expr)                                  \
  CLP_FN(Fn) {                                                   \
    CLP_GUARD(op, {                                              \
      const at::Tensor& x = Unwrap(info[0], "input");            \
      return Wrap(info.Env(), expr);                             \
    });                                                          \
  }

CLP_UNARY(Neg, "neg", at::neg(x))
CLP_UNARY(Exp, "exp", at::exp(x))
CLP_UNARY(Log, "log", at::log(x))
CLP_UNARY(Sqrt, "sqrt", at::sqrt(x))
CLP_UNARY(Rsqrt, "rsqrt", at::rsqrt(x))
CLP_UNARY(Tanh, "tanh", at::tanh(x))
CLP_UNARY(Sigmoid, "sigmoid", at::sigmoid(x))
CLP_UNARY(Relu, "relu", at::relu(x))
CLP_UNARY(Abs, "abs", at::abs(x))
CLP_UNARY(Square, "square", at::square(x))
CLP_UNARY(LogicalNot, "logical_not", at::logical_not(x))
CLP_UNARY(Isfinite, "isfinite", at::isfinite(x))
CLP_UNARY(Isnan, "isnan", at::isnan(x))
CLP_UNARY(Floor, "floor", at::floor(x))

// Binary ops whose second operand may be a tensor or a number.
#define CLP_BINARY(Fn, op, fn)                                   \
  CLP_FN(Fn) {                                                   \
    CLP_GUARD(op, {                                              \
      const at::Tensor& a = Unwrap(info[0], "input");            \
      if (IsTensor(info[1])) {                                   \
        return Wrap(info.Env(), fn(a, Unwrap(info[1], "other"))); \
      }                                                          \
      return Wrap(info.Env(), fn(a, ScalarArg(info[1], "other"))); \
    });                                                          \
  }

CLP_BINARY(Add, "add", at::add)
CLP_BINARY(Sub, "sub", at::sub)
CLP_BINARY(Mul, "mul", at::mul)
CLP_BINARY(Div, "div", at::div)
CLP_BINARY(Pow, "pow", at::pow)
CLP_BINARY(Eq, "eq", at::eq)
CLP_BINARY(Ne, "ne", at::ne)
CLP_BINARY(Lt, "lt", at::lt)
CLP_BINARY(Le, "le", at::le)
CLP_BINARY(Gt, "gt", at::gt)
CLP_BINARY(Ge, "ge", at::ge)
CLP_BINARY(Remainder, "remainder", at::remainder)

#define CLP_BINARY_TENSOR(Fn, op, fn)                                          \
  CLP_FN(Fn) {                                                                 \
    CLP_GUARD(op, {                                                            \
      return Wrap(info.Env(), fn(Unwrap(info[0], "input"), Unwrap(info[1], "other"))); \
    });                                                                        \
  }

CLP_BINARY_TENSOR(Minimum, "minimum", at::minimum)
CLP_BINARY_TENSOR(Maximum, "maximum", at::maximum)
CLP_BINARY_TENSOR(LogicalAnd, "logical_and", at::logical_and)
CLP_BINARY_TENSOR(LogicalOr, "logical_or", at::logical_or)

at::Tensor TensorOrScalar(const Napi::Value& v, const char* arg, const at::Tensor& like) {
  if (IsTensor(v)) return Unwrap(v, arg);
  return at::scalar_tensor(ScalarArg(v, arg), like.options());
}

CLP_FN(Where) {
  CLP_GUARD("where", {
    const at::Tensor& cond = Unwrap(info[0], "condition");
    at::Tensor like = IsTensor(info[1]) ? Unwrap(info[1], "input")
                                        : (IsTensor(info[2]) ? Unwrap(info[2], "other")
                                                             : at::empty({0}, at::kFloat));
    at::Tensor a = TensorOrScalar(info[1], "input", like);
    at::Tensor b = TensorOrScalar(info[2], "other", like);
    return Wrap(info.Env(), at::where(cond, a, b));
  });
}

CLP_FN(MaskedFill) {
  CLP_GUARD("masked_fill", {
    return Wrap(info.Env(), at::masked_fill(Unwrap(info[0], "input"), Unwrap(info[1], "mask"),
                                            ScalarArg(info[2], "value")));
  });
}

CLP_FN(Clamp) {
  CLP_GUARD("clamp", {
    c10::optional<at::Scalar> lo, hi;
    if (!info[1].IsNull() && !info[1].IsUndefined()) lo = ScalarArg(info[1], "min");
    if (!info[2].IsNull() && !info[2].IsUndefined()) hi = ScalarArg(info[2], "max");
    return Wrap(info.Env(), at::clamp(Unwrap(info[0], "input"), lo, hi));
  });
}

CLP_FN(Gelu) {
  CLP_GUARD("gelu", {
    std::string approximate = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "none";
    return Wrap(info.Env(), at::gelu(Unwrap(info[0], "input"), approximate));
  });
}

// In-place updates return nothing; the JS facade returns the same tensor object.
CLP_FN(AddInPlace) {
  CLP_GUARD("add_", {
    at::Tensor t = Unwrap(info[0], "input");
    at::Scalar alpha = info.Length() > 2 && !info[2].IsUndefined() ? ScalarArg(info[2], "alpha")
                                                                     : at::Scalar(1);
    if (IsTensor(info[1])) {
      t.add_(Unwrap(info[1], "other"), alpha);
    } else {
      t.add_(ScalarArg(info[1], "other"), alpha);
    }
    return info.Env().Undefined();
  });
}

CLP_FN(MulInPlace) {
  CLP_GUARD("mul_", {
    at::Tensor t = Unwrap(info[0], "input");
    if (IsTensor(info[1])) {
      t.mul_(Unwrap(info[1], "other"));
    } else {
      t.mul_(ScalarArg(info[1], "other"));
    }
    return info.Env().Undefined();
  });
}

CLP_FN(CopyInPlace) {
  CLP_GUARD("copy_", {
    at::Tensor t = Unwrap(info[0], "input");
    t.copy_(Unwrap(info[1], "src"));
    return info.Env().Undefined();
  });
}

CLP_FN(ZeroInPlace) {
  CLP_GUARD("zero_", {
    at::Tensor t = Unwrap(info[0], "input");
    t.zero_();
    return info.Env().Undefined();
  });
}

CLP_FN(FillInPlace) {
  CLP_GUARD("fill_", {
    at::Tensor t = Unwrap(info[0], "input");
    t.fill_(ScalarArg(info[1], "value"));
    return info.Env().Undefined();
  });
}

// --- Reductions. A null or missing dims argument reduces over every dimension. ---

bool HasDims(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsNull() && !info[i].IsUndefined();
}

bool KeepDim(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() > i && !info[i].IsUndefined() && Bool(info[i], "keepdim");
}

CLP_FN(Sum) {
  CLP_GUARD("sum", {
    const at::Tensor& x = Unwrap(info[0], "input");
    if (!HasDims(info, 1)) return Wrap(info.Env(), at::sum(x));
    return Wrap(info.Env(), at::sum(x, IntList(info[1], "dims"), KeepDim(info, 2)));
  });
}

CLP_FN(Mean) {
  CLP_GUARD("mean", {
    const at::Tensor& x = Unwrap(info[0], "input");
    if (!HasDims(info, 1)) return Wrap(info.Env(), at::mean(x));
    return Wrap(info.Env(), at::mean(x, IntList(info[1], "dims"), KeepDim(info, 2)));
  });
}

CLP_FN(Amax) {
  CLP_GUARD("amax", {
    const at::Tensor& x = Unwrap(info[0], "input");
    std::vector<int64_t> dims = HasDims(info, 1) ? IntList(info[1], "dims") : std::vector<int64_t>{};
    return Wrap(info.Env(), at::amax(x, dims, KeepDim(info, 2)));
  });
}

CLP_FN(Amin) {
  CLP_GUARD("amin", {
    const at::Tensor& x = Unwrap(info[0], "input");
    std::vector<int64_t> dims = HasDims(info, 1) ? IntList(info[1], "dims") : std::vector<int64_t>{};
    return Wrap(info.Env(), at::amin(x, dims, KeepDim(info, 2)));
  });
}

CLP_FN(Argmax) {
  CLP_GUARD("argmax", {
    const at::Tensor& x = Unwrap(info[0], "input");
    c10::optional<int64_t> dim;
    if (HasDims(info, 1)) dim = Int(info[1], "dim");
    return Wrap(info.Env(), at::argmax(x, dim, KeepDim(info, 2)));
  });
}

CLP_FN(Logsumexp) {
  CLP_GUARD("logsumexp", {
    return Wrap(info.Env(), at::logsumexp(Unwrap(info[0], "input"), IntList(info[1], "dims"),
                                          KeepDim(info, 2)));
  });
}

CLP_FN(Var) {
  CLP_GUARD("var", {
    const at::Tensor& x = Unwrap(info[0], "input");
    bool unbiased = Bool(info[2], "unbiased");
    if (!HasDims(info, 1)) return Wrap(info.Env(), at::var(x, unbiased));
    return Wrap(info.Env(), at::var(x, at::IntArrayRef(IntList(info[1], "dims")), unbiased,
                                    KeepDim(info, 3)));
  });
}

CLP_FN(Cumsum) {
  CLP_GUARD("cumsum", { return Wrap(info.Env(), at::cumsum(Unwrap(info[0], "input"), Int(info[1], "dim"))); });
}

CLP_FN(Topk) {
  CLP_GUARD("topk", {
    return WrapPair(info.Env(), at::topk(Unwrap(info[0], "input"), Int(info[1], "k"), Int(info[2], "dim"),
                                         Bool(info[3], "largest"), true));
  });
}

CLP_FN(Sort) {
  CLP_GUARD("sort", {
    return WrapPair(info.Env(), at::sort(Unwrap(info[0], "input"), Int(info[1], "dim"),
                                         Bool(info[2], "descending")));
  });
}

CLP_FN(All) {
  CLP_GUARD("all", { return Napi::Boolean::New(info.Env(), at::all(Unwrap(info[0], "input")).item<bool>()); });
}

CLP_FN(Any) {
  CLP_GUARD("any", { return Napi::Boolean::New(info.Env(), at::any(Unwrap(info[0], "input")).item<bool>()); });
}

}  // namespace

void RegisterPointwise(Napi::Env env, Napi::Object exports) {
  CLP_EXPORT(exports, env, "neg", Neg);
  CLP_EXPORT(exports, env, "exp", Exp);
  CLP_EXPORT(exports, env, "log", Log);
  CLP_EXPORT(exports, env, "sqrt", Sqrt);
  CLP_EXPORT(exports, env, "rsqrt", Rsqrt);
  CLP_EXPORT(exports, env, "tanh", Tanh);
  CLP_EXPORT(exports, env, "sigmoid", Sigmoid);
  CLP_EXPORT(exports, env, "relu", Relu);
  CLP_EXPORT(exports, env, "abs", Abs);
  CLP_EXPORT(exports, env, "square", Square);
  CLP_EXPORT(exports, env, "logical_not", LogicalNot);
  CLP_EXPORT(exports, env, "isfinite", Isfinite);
  CLP_EXPORT(exports, env, "isnan", Isnan);
  CLP_EXPORT(exports, env, "floor", Floor);
  CLP_EXPORT(exports, env, "add", Add);
  CLP_EXPORT(exports, env, "sub", Sub);
  CLP_EXPORT(exports, env, "mul", Mul);
  CLP_EXPORT(exports, env, "div", Div);
  CLP_EXPORT(exports, env, "pow", Pow);
  CLP_EXPORT(exports, env, "eq", Eq);
  CLP_EXPORT(exports, env, "ne", Ne);
  CLP_EXPORT(exports, env, "lt", Lt);
  CLP_EXPORT(exports, env, "le", Le);
  CLP_EXPORT(exports, env, "gt", Gt);
  CLP_EXPORT(exports, env, "ge", Ge);
  CLP_EXPORT(exports, env, "remainder", Remainder);
  CLP_EXPORT(exports, env, "minimum", Minimum);
  CLP_EXPORT(exports, env, "maximum", Maximum);
  CLP_EXPORT(exports, env, "logical_and", LogicalAnd);
  CLP_EXPORT(exports, env, "logical_or", LogicalOr);
  CLP_EXPORT(exports, env, "where", Where);
  CLP_EXPORT(exports, env, "masked_fill", MaskedFill);
  CLP_EXPORT(exports, env, "clamp", Clamp);
  CLP_EXPORT(exports, env, "gelu", Gelu);
  CLP_EXPORT(exports, env, "add_", AddInPlace);
  CLP_EXPORT(exports, env, "mul_", MulInPlace);
  CLP_EXPORT(exports, env, "copy_", CopyInPlace);
  CLP_EXPORT(exports, env, "zero_", ZeroInPlace);
  CLP_EXPORT(exports, env, "fill_", FillInPlace);
  CLP_EXPORT(exports, env, "sum", Sum);
  CLP_EXPORT(exports, env, "mean", Mean);
  CLP_EXPORT(exports, env, "amax", Amax);
  CLP_EXPORT(exports, env, "amin", Amin);
  CLP_EXPORT(exports, env, "argmax", Argmax);
  CLP_EXPORT(exports, env, "logsumexp", Logsumexp);
  CLP_EXPORT(exports, env, "var", Var);
  CLP_EXPORT(exports, env, "cumsum", Cumsum);
  CLP_EXPORT(exports, env, "topk", Topk);
  CLP_EXPORT(exports, env, "sort", Sort);
  CLP_EXPORT(exports, env, "all", All);
  CLP_EXPORT(exports, env, "any", Any);
}

}  // namespace clp
