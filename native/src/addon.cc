// Module entry: the tensor handle, argument conversion, error mapping and runtime settings
// (threads, seeds, random-number-generator state, live-tensor count).
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "clp.h"

namespace clp {

namespace {
std::atomic<int64_t> liveTensors{0};
// Identifies objects made by this addon, so a foreign object passed as a tensor is rejected.
const napi_type_tag kTensorTag = {0x636c705f746f7263ULL, 0x685f74656e736f72ULL};

}  // namespace

int64_t LiveTensorCount() { return liveTensors.load(); }

Napi::Function TensorHandle::Define(Napi::Env env) {
  return DefineClass(env, "NativeTensor",
                     {InstanceMethod("dispose", &TensorHandle::Dispose),
                      InstanceMethod("isDisposed", &TensorHandle::IsDisposed)});
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {}

TensorHandle::~TensorHandle() { Reset(); }

void TensorHandle::Set(Napi::Env env, at::Tensor t) {
  Reset();
  tensor = std::move(t);
  liveTensors++;
}

void TensorHandle::Reset() {
  if (!tensor.defined()) return;
  tensor = at::Tensor();
  liveTensors--;
}

Napi::Value TensorHandle::Dispose(const Napi::CallbackInfo& info) {
  Reset();
  return info.Env().Undefined();
}

Napi::Value TensorHandle::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor.defined());
}

Napi::Object Wrap(Napi::Env env, at::Tensor t) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object obj = data->tensorCtor.New({});
  obj.TypeTag(&kTensorTag);
  TensorHandle::Unwrap(obj)->Set(env, std::move(t));
  return obj;
}

Napi::Value WrapPair(Napi::Env env, std::tuple<at::Tensor, at::Tensor> pair) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Wrap(env, std::move(std::get<0>(pair))));
  out.Set(1u, Wrap(env, std::move(std::get<1>(pair))));
  return out;
}

bool IsTensor(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kTensorTag);
}

const at::Tensor& Unwrap(const Napi::Value& v, const char* arg) {
  if (!IsTensor(v)) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be a tensor");
  }
  TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
  if (!h->tensor.defined()) {
    throw Napi::Error::New(v.Env(), std::string("argument '") + arg +
                                        "' is a tensor that was already disposed");
  }
  return h->tensor;
}

std::vector<at::Tensor> UnwrapList(const Napi::Value& v, const char* arg) {
  if (!v.IsArray()) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be an array of tensors");
  }
  Napi::Array a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(Unwrap(a.Get(i), arg));
  return out;
}

c10::optional<at::Tensor> OptionalTensor(const Napi::Value& v, const char* arg) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return Unwrap(v, arg);
}

int64_t Int(const Napi::Value& v, const char* arg) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && std::floor(d) == d) return static_cast<int64_t>(d);
  } else if (v.IsBigInt()) {
    bool lossless = false;
    int64_t r = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (lossless) return r;
  }
  throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be an integer");
}

double Double(const Napi::Value& v, const char* arg) {
  if (!v.IsNumber()) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be a number");
  }
  return v.As<Napi::Number>().DoubleValue();
}

bool Bool(const Napi::Value& v, const char* arg) {
  if (!v.IsBoolean()) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be a boolean");
  }
  return v.As<Napi::Boolean>().Value();
}

std::vector<int64_t> IntList(const Napi::Value& v, const char* arg) {
  if (!v.IsArray()) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be an array of integers");
  }
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = Int(a.Get(i), arg);
  return out;
}

at::Scalar ScalarArg(const Napi::Value& v, const char* arg) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  double d = Double(v, arg);
  // Integral values stay integral, so integer tensors are not promoted to float by a scalar.
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

at::ScalarType DtypeArg(const Napi::Value& v, const char* arg) {
  if (!v.IsString()) {
    throw Napi::TypeError::New(v.Env(), std::string("argument '") + arg + "' must be a dtype name");
  }
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "bool") return at::kBool;
  if (s == "uint8") return at::kByte;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "float16") return at::kHalf;
  throw Napi::TypeError::New(v.Env(), "unknown dtype \"" + s +
                                          "\"; expected float32, float64, int64, int32, bool, uint8, "
                                          "bfloat16 or float16");
}

const char* DtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    case at::kByte: return "uint8";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    default: return "unsupported";
  }
}

std::string Describe(const at::Tensor& t) {
  std::ostringstream s;
  s << DtypeName(t.scalar_type()) << "[";
  for (int64_t i = 0; i < t.dim(); i++) s << (i ? "," : "") << t.size(i);
  s << "]";
  return s.str();
}

void ThrowTorchError(const Napi::CallbackInfo& info, const char* op, const char* kind,
                     const std::string& what, const std::string& full) {
  Napi::Env env = info.Env();
  std::string inputs;
  Napi::Array described = Napi::Array::New(env);
  uint32_t n = 0;
  for (size_t i = 0; i < info.Length(); i++) {
    std::vector<Napi::Value> values;
    if (info[i].IsArray()) {
      Napi::Array a = info[i].As<Napi::Array>();
      for (uint32_t j = 0; j < a.Length() && j < 8; j++) values.push_back(a.Get(j));
    } else {
      values.push_back(info[i]);
    }
    for (auto& v : values) {
      if (!IsTensor(v)) continue;
      const at::Tensor& t = TensorHandle::Unwrap(v.As<Napi::Object>())->tensor;
      std::string d = t.defined() ? Describe(t) : std::string("disposed");
      inputs += (inputs.empty() ? "" : ", ") + d;
      described.Set(n++, Napi::String::New(env, d));
    }
  }
  // libtorch messages may span lines; the first line carries the reason.
  std::string reason = what;
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  std::string message = std::string(op) + ": " + reason;
  if (!inputs.empty()) message += " (inputs: " + inputs + ")";
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Error err = data->errorCtor.IsEmpty()
                        ? Napi::Error::New(env, message)
                        : Napi::Error(env, data->errorCtor.New({Napi::String::New(env, message)}));
  err.Set("name", Napi::String::New(env, "TorchError"));
  err.Set("op", Napi::String::New(env, op));
  err.Set("kind", Napi::String::New(env, kind));
  err.Set("inputs", described);
  const char* show = std::getenv("TORCH_SHOW_CPP_STACKTRACES");
  if (show != nullptr && std::string(show) == "1") err.Set("cppStack", Napi::String::New(env, full));
  throw err;
}

namespace {

using OpenblasSetThreads = void (*)(int);
using OpenblasGetThreads = int (*)();

CLP_FN(SetNumThreads) {
  CLP_GUARD("set_num_threads", {
    int64_t torchThreads = Int(info[0], "torchThreads");
    int64_t blasThreads = Int(info[1], "blasThreads");
    if (torchThreads < 1 || blasThreads < 1) {
      throw Napi::RangeError::New(info.Env(), "thread counts must be at least 1");
    }
    at::set_num_threads(static_cast<int>(torchThreads));
    // OpenBLAS keeps its own pool; libtorch's setting does not reach it.
    auto set = reinterpret_cast<OpenblasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (set != nullptr) set(static_cast<int>(blasThreads));
    return info.Env().Undefined();
  });
}

CLP_FN(GetNumThreads) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torch", Napi::Number::New(env, at::get_num_threads()));
  auto get = reinterpret_cast<OpenblasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  out.Set("blas", get != nullptr ? Napi::Value(Napi::Number::New(env, get())) : env.Null());
  return out;
}

CLP_FN(Version) {
  return Napi::String::New(info.Env(), std::to_string(CLP_TORCH_MAJOR) + "." +
                                           std::to_string(CLP_TORCH_MINOR));
}

CLP_FN(SetErrorClass) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "argument 'errorClass' must be a class");
  info.Env().GetInstanceData<AddonData>()->errorCtor = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

CLP_FN(LiveCount) { return Napi::Number::New(info.Env(), static_cast<double>(LiveTensorCount())); }

CLP_FN(ManualSeed) {
  CLP_GUARD("manual_seed", {
    at::manual_seed(static_cast<uint64_t>(Int(info[0], "seed")));
    return info.Env().Undefined();
  });
}

CLP_FN(GetRngState) {
  CLP_GUARD("get_rng_state", {
    auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return Wrap(info.Env(), gen.get_state());
  });
}

CLP_FN(SetRngState) {
  CLP_GUARD("set_rng_state", {
    const at::Tensor& state = Unwrap(info[0], "state");
    auto gen = at::globalContext().defaultGenerator(at::DeviceType::CPU);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
    return info.Env().Undefined();
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc raises its mmap threshold after the first large free and then serves tensors of many
  // MB from the heap. There the small handle objects allocated between them pin freed blocks, and
  // a training loop grew by about 250 MB per step. A fixed threshold also turns off glibc's
  // adjustment, so every tensor above 1 MB gets its own mapping, returned to the system on free.
  // CLP_MALLOC_DEFAULTS=1 keeps glibc's own settings.
  const char* keepMalloc = std::getenv("CLP_MALLOC_DEFAULTS");
  if (keepMalloc == nullptr || std::string(keepMalloc) != "1") {
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  }
  auto* data = new AddonData();
  Napi::Function ctor = TensorHandle::Define(env);
  data->tensorCtor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);

  CLP_EXPORT(exports, env, "set_num_threads", SetNumThreads);
  CLP_EXPORT(exports, env, "get_num_threads", GetNumThreads);
  CLP_EXPORT(exports, env, "version", Version);
  CLP_EXPORT(exports, env, "live_count", LiveCount);
  CLP_EXPORT(exports, env, "set_error_class", SetErrorClass);
  CLP_EXPORT(exports, env, "manual_seed", ManualSeed);
  CLP_EXPORT(exports, env, "get_rng_state", GetRngState);
  CLP_EXPORT(exports, env, "set_rng_state", SetRngState);
  RegisterCreate(env, exports);
  RegisterPointwise(env, exports);
  RegisterShape(env, exports);
  RegisterNn(env, exports);
  RegisterAutograd(env, exports);
  return exports;
}

}  // namespace clp

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return clp::Init(env, exports); }

NODE_API_MODULE(clp_torch, InitModule)
