// Tensor creation, copies to and from typed arrays, properties and random sampling.
#include <cstring>

#include "clp.h"

namespace clp {
namespace {

at::ScalarType TypedArrayDtype(napi_typedarray_type t, Napi::Env env) {
  switch (t) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_bigint64_array: return at::kLong;
    case napi_uint8_array: return at::kByte;
    default:
      throw Napi::TypeError::New(
          env, "data must be a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array");
  }
}

at::TensorOptions Opts(at::ScalarType t) { return at::TensorOptions().dtype(t); }

// from_array(typedArray, shape, dtype?) copies the data into a new tensor.
CLP_FN(FromArray) {
  CLP_GUARD("from_array", {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "data must be a typed array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    at::ScalarType src = TypedArrayDtype(ta.TypedArrayType(), env);
    std::vector<int64_t> shape = IntList(info[1], "shape");
    int64_t numel = 1;
    for (int64_t s : shape) {
      if (s < 0) throw Napi::RangeError::New(env, "shape entries must be non-negative");
      numel *= s;
    }
    if (numel != static_cast<int64_t>(ta.ElementLength())) {
      throw Napi::RangeError::New(env, "data has " + std::to_string(ta.ElementLength()) +
                                           " elements but shape needs " + std::to_string(numel));
    }
    uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    at::Tensor t = at::empty(shape, Opts(src));
    if (numel > 0) std::memcpy(t.data_ptr(), base, ta.ByteLength());
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      at::ScalarType want = DtypeArg(info[2], "dtype");
      if (want != src) t = t.to(want);
    }
    return Wrap(env, t);
  });
}

// to_array(t) copies a tensor out into a typed array of its own dtype (bool as Uint8Array).
CLP_FN(ToArray) {
  CLP_GUARD("to_array", {
    Napi::Env env = info.Env();
    at::Tensor t = Unwrap(info[0], "tensor").detach().contiguous();
    if (t.scalar_type() == at::kBool) t = t.to(at::kByte);
    if (t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf) t = t.to(at::kFloat);
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
    if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    size_t n = static_cast<size_t>(t.numel());
    switch (t.scalar_type()) {
      case at::kFloat: return Napi::Float32Array::New(env, n, buf, 0);
      case at::kDouble: return Napi::Float64Array::New(env, n, buf, 0);
      case at::kInt: return Napi::Int32Array::New(env, n, buf, 0);
      case at::kLong: return Napi::BigInt64Array::New(env, n, buf, 0);
      case at::kByte: return Napi::Uint8Array::New(env, n, buf, 0);
      default: throw Napi::TypeError::New(env, "to_array: unsupported dtype");
    }
  });
}

CLP_FN(Zeros) {
  CLP_GUARD("zeros", {
    return Wrap(info.Env(), at::zeros(IntList(info[0], "shape"), Opts(DtypeArg(info[1], "dtype"))));
  });
}

CLP_FN(Ones) {
  CLP_GUARD("ones", {
    return Wrap(info.Env(), at::ones(IntList(info[0], "shape"), Opts(DtypeArg(info[1], "dtype"))));
  });
}

CLP_FN(Full) {
  CLP_GUARD("full", {
    return Wrap(info.Env(), at::full(IntList(info[0], "shape"), ScalarArg(info[1], "value"),
                                     Opts(DtypeArg(info[2], "dtype"))));
  });
}

CLP_FN(Arange) {
  CLP_GUARD("arange", {
    return Wrap(info.Env(), at::arange(ScalarArg(info[0], "start"), ScalarArg(info[1], "end"),
                                       ScalarArg(info[2], "step"), Opts(DtypeArg(info[3], "dtype"))));
  });
}

CLP_FN(Randn) {
  CLP_GUARD("randn", {
    return Wrap(info.Env(), at::randn(IntList(info[0], "shape"), Opts(DtypeArg(info[1], "dtype"))));
  });
}

CLP_FN(Rand) {
  CLP_GUARD("rand", {
    return Wrap(info.Env(), at::rand(IntList(info[0], "shape"), Opts(DtypeArg(info[1], "dtype"))));
  });
}

CLP_FN(Randint) {
  CLP_GUARD("randint", {
    return Wrap(info.Env(), at::randint(Int(info[0], "low"), Int(info[1], "high"),
                                        IntList(info[2], "shape"), Opts(at::kLong)));
  });
}

CLP_FN(Randperm) {
  CLP_GUARD("randperm", { return Wrap(info.Env(), at::randperm(Int(info[0], "n"), Opts(at::kLong))); });
}

CLP_FN(Multinomial) {
  CLP_GUARD("multinomial", {
    return Wrap(info.Env(), at::multinomial(Unwrap(info[0], "probs"), Int(info[1], "numSamples"),
                                            Bool(info[2], "replacement")));
  });
}

CLP_FN(Shape) {
  CLP_GUARD("shape", {
    const at::Tensor& t = Unwrap(info[0], "tensor");
    Napi::Array out = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) {
      out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
    }
    return out;
  });
}

CLP_FN(Dtype) {
  CLP_GUARD("dtype", {
    return Napi::String::New(info.Env(), DtypeName(Unwrap(info[0], "tensor").scalar_type()));
  });
}

CLP_FN(Item) {
  CLP_GUARD("item", {
    const at::Tensor& t = Unwrap(info[0], "tensor");
    return Napi::Number::New(info.Env(), t.item().toDouble());
  });
}

CLP_FN(Clone) {
  CLP_GUARD("clone", { return Wrap(info.Env(), Unwrap(info[0], "tensor").clone()); });
}

CLP_FN(Detach) {
  CLP_GUARD("detach", { return Wrap(info.Env(), Unwrap(info[0], "tensor").detach()); });
}

CLP_FN(Contiguous) {
  CLP_GUARD("contiguous", { return Wrap(info.Env(), Unwrap(info[0], "tensor").contiguous()); });
}

CLP_FN(To) {
  CLP_GUARD("to", {
    return Wrap(info.Env(), Unwrap(info[0], "tensor").to(DtypeArg(info[1], "dtype")));
  });
}

CLP_FN(Equal) {
  CLP_GUARD("equal", {
    return Napi::Boolean::New(info.Env(), at::equal(Unwrap(info[0], "a"), Unwrap(info[1], "b")));
  });
}

}  // namespace

void RegisterCreate(Napi::Env env, Napi::Object exports) {
  CLP_EXPORT(exports, env, "from_array", FromArray);
  CLP_EXPORT(exports, env, "to_array", ToArray);
  CLP_EXPORT(exports, env, "zeros", Zeros);
  CLP_EXPORT(exports, env, "ones", Ones);
  CLP_EXPORT(exports, env, "full", Full);
  CLP_EXPORT(exports, env, "arange", Arange);
  CLP_EXPORT(exports, env, "randn", Randn);
  CLP_EXPORT(exports, env, "rand", Rand);
  CLP_EXPORT(exports, env, "randint", Randint);
  CLP_EXPORT(exports, env, "randperm", Randperm);
  CLP_EXPORT(exports, env, "multinomial", Multinomial);
  CLP_EXPORT(exports, env, "shape", Shape);
  CLP_EXPORT(exports, env, "dtype", Dtype);
  CLP_EXPORT(exports, env, "item", Item);
  CLP_EXPORT(exports, env, "clone", Clone);
  CLP_EXPORT(exports, env, "detach", Detach);
  CLP_EXPORT(exports, env, "contiguous", Contiguous);
  CLP_EXPORT(exports, env, "to", To);
  CLP_EXPORT(exports, env, "equal", Equal);
}

}  // namespace clp
