// Shared pieces of the libtorch binding: the tensor handle, argument conversion and the guard that
// turns every C++ exception into a JavaScript error naming the op and its inputs.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <string>
#include <utility>
#include <vector>

namespace clp {

// A JavaScript object owning one reference to an at::Tensor. dispose() drops the reference early;
// the finalizer drops whatever is left when the object is garbage collected.
class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  void Set(Napi::Env env, at::Tensor t);
  void Reset();
  at::Tensor tensor;

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
};

struct AddonData {
  Napi::FunctionReference tensorCtor;
  // The JS TorchError class, registered by the facade; plain Error until then.
  Napi::FunctionReference errorCtor;
};

int64_t LiveTensorCount();

Napi::Object Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapPair(Napi::Env env, std::tuple<at::Tensor, at::Tensor> pair);
bool IsTensor(const Napi::Value& v);
const at::Tensor& Unwrap(const Napi::Value& v, const char* arg);
std::vector<at::Tensor> UnwrapList(const Napi::Value& v, const char* arg);
c10::optional<at::Tensor> OptionalTensor(const Napi::Value& v, const char* arg);
std::vector<int64_t> IntList(const Napi::Value& v, const char* arg);
int64_t Int(const Napi::Value& v, const char* arg);
double Double(const Napi::Value& v, const char* arg);
bool Bool(const Napi::Value& v, const char* arg);
at::Scalar ScalarArg(const Napi::Value& v, const char* arg);
at::ScalarType DtypeArg(const Napi::Value& v, const char* arg);
const char* DtypeName(at::ScalarType t);
std::string Describe(const at::Tensor& t);

[[noreturn]] void ThrowTorchError(const Napi::CallbackInfo& info, const char* op, const char* kind,
                                  const std::string& what, const std::string& full);

// Runs one binding body. libtorch raises C++ exceptions for shape, dtype and index errors. An
// exception that reached N-API uncaught would abort the process, so each is rethrown as a JS error.
template <typename F>
Napi::Value Guarded(const Napi::CallbackInfo& info, const char* op, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& e) {
    ThrowTorchError(info, op, "index", e.what_without_backtrace(), e.what());
  } catch (const c10::ValueError& e) {
    ThrowTorchError(info, op, "value", e.what_without_backtrace(), e.what());
  } catch (const c10::TypeError& e) {
    ThrowTorchError(info, op, "type", e.what_without_backtrace(), e.what());
  } catch (const c10::NotImplementedError& e) {
    ThrowTorchError(info, op, "notImplemented", e.what_without_backtrace(), e.what());
  } catch (const c10::LinAlgError& e) {
    ThrowTorchError(info, op, "linalg", e.what_without_backtrace(), e.what());
  } catch (const c10::Error& e) {
    ThrowTorchError(info, op, "runtime", e.what_without_backtrace(), e.what());
  } catch (const std::bad_alloc&) {
    ThrowTorchError(info, op, "outOfMemory", "out of memory", "std::bad_alloc");
  } catch (const std::exception& e) {
    ThrowTorchError(info, op, "runtime", e.what(), e.what());
  } catch (...) {
    ThrowTorchError(info, op, "runtime", "unknown C++ exception", "unknown C++ exception");
  }
}

#define CLP_FN(Name) static Napi::Value Name(const Napi::CallbackInfo& info)
#define CLP_GUARD(op, ...) \
  return ::clp::Guarded(info, op, [&]() -> Napi::Value { __VA_ARGS__ })
#define CLP_EXPORT(exports, env, jsName, Fn) exports.Set(jsName, Napi::Function::New(env, Fn, jsName))

void RegisterCreate(Napi::Env env, Napi::Object exports);
void RegisterPointwise(Napi::Env env, Napi::Object exports);
void RegisterShape(Napi::Env env, Napi::Object exports);
void RegisterNn(Napi::Env env, Napi::Object exports);
void RegisterAutograd(Napi::Env env, Napi::Object exports);

}  // namespace clp
