// Autograd (gradient mode, backward, gradients of leaves), gradient clipping and the AdamW update.
#include <cmath>

#include "clp.h"

namespace clp {
namespace {

CLP_FN(RequiresGrad) {
  CLP_GUARD("requires_grad", { return Napi::Boolean::New(info.Env(), Unwrap(info[0], "tensor").requires_grad()); });
}

CLP_FN(SetRequiresGrad) {
  CLP_GUARD("requires_grad_", {
    at::Tensor t = Unwrap(info[0], "tensor");
    t.requires_grad_(Bool(info[1], "requiresGrad"));
    return info.Env().Undefined();
  });
}

CLP_FN(IsGradEnabled) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

// set_grad_enabled(flag) returns the previous mode so the caller can restore it.
CLP_FN(SetGradEnabled) {
  CLP_GUARD("set_grad_enabled", {
    bool previous = c10::GradMode::is_enabled();
    c10::GradMode::set_enabled(Bool(info[0], "enabled"));
    return Napi::Boolean::New(info.Env(), previous);
  });
}

CLP_FN(Backward) {
  CLP_GUARD("backward", {
    at::Tensor t = Unwrap(info[0], "tensor");
    c10::optional<at::Tensor> grad = OptionalTensor(info[1], "gradient");
    bool retain = info.Length() > 2 && !info[2].IsUndefined() && Bool(info[2], "retainGraph");
    t.backward(grad.has_value() ? *grad : at::Tensor(), retain, false);
    return info.Env().Undefined();
  });
}

CLP_FN(Grad) {
  CLP_GUARD("grad", {
    const at::Tensor& g = Unwrap(info[0], "tensor").grad();
    if (!g.defined()) return info.Env().Null();
    return Wrap(info.Env(), g);
  });
}

CLP_FN(SetGrad) {
  CLP_GUARD("set_grad", {
    at::Tensor t = Unwrap(info[0], "tensor");
    c10::optional<at::Tensor> g = OptionalTensor(info[1], "grad");
    t.mutable_grad() = g.has_value() ? *g : at::Tensor();
    return info.Env().Undefined();
  });
}

// zero_grad(params) drops every gradient (set to none), as torch's zero_grad(set_to_none=True).
CLP_FN(ZeroGrad) {
  CLP_GUARD("zero_grad", {
    for (at::Tensor p : UnwrapList(info[0], "params")) p.mutable_grad() = at::Tensor();
    return info.Env().Undefined();
  });
}

// clip_grad_norm_(params, maxNorm) scales the gradients in place so that their joint L2 norm is at
// most maxNorm, and returns the norm before clipping (NaN or Infinity when a gradient is not finite).
CLP_FN(ClipGradNorm) {
  CLP_GUARD("clip_grad_norm_", {
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> params = UnwrapList(info[0], "params");
    double maxNorm = Double(info[1], "maxNorm");
    std::vector<at::Tensor> norms;
    for (const at::Tensor& p : params) {
      if (p.grad().defined()) norms.push_back(at::linalg_vector_norm(p.grad().to(at::kDouble), 2));
    }
    if (norms.empty()) return Napi::Number::New(info.Env(), 0.0);
    double total = at::linalg_vector_norm(at::stack(norms), 2).item<double>();
    double coef = maxNorm / (total + 1e-6);
    if (std::isfinite(total) && coef < 1.0) {
      for (at::Tensor p : params) {
        if (p.grad().defined()) p.mutable_grad().mul_(coef);
      }
    }
    return Napi::Number::New(info.Env(), total);
  });
}

// adamw_step(params, expAvg, expAvgSq, step, lr, beta1, beta2, eps, weightDecay[]) applies one
// decoupled-weight-decay Adam update (Loshchilov & Hutter) to every parameter that has a gradient,
// with the same arithmetic as torch.optim.AdamW. step is the 1-based step count after this update.
CLP_FN(AdamwStep) {
  CLP_GUARD("adamw_step", {
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> params = UnwrapList(info[0], "params");
    std::vector<at::Tensor> expAvg = UnwrapList(info[1], "expAvg");
    std::vector<at::Tensor> expAvgSq = UnwrapList(info[2], "expAvgSq");
    int64_t step = Int(info[3], "step");
    double lr = Double(info[4], "lr");
    double beta1 = Double(info[5], "beta1");
    double beta2 = Double(info[6], "beta2");
    double eps = Double(info[7], "eps");
    Napi::Array decays = info[8].As<Napi::Array>();
    if (expAvg.size() != params.size() || expAvgSq.size() != params.size() || decays.Length() != params.size()) {
      throw Napi::RangeError::New(info.Env(), "adamw_step: state lists must match the parameter list");
    }
    if (step < 1) throw Napi::RangeError::New(info.Env(), "adamw_step: step must be at least 1");
    double bias1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    double bias2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    double stepSize = lr / bias1;
    double bias2Sqrt = std::sqrt(bias2);
    for (size_t i = 0; i < params.size(); i++) {
      at::Tensor p = params[i];
      const at::Tensor& g = p.grad();
      if (!g.defined()) continue;
      double wd = Double(decays.Get(static_cast<uint32_t>(i)), "weightDecay");
      if (wd != 0.0) p.mul_(1.0 - lr * wd);
      expAvg[i].mul_(beta1).add_(g, 1.0 - beta1);
      expAvgSq[i].mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      at::Tensor denom = (expAvgSq[i].sqrt() / bias2Sqrt).add_(eps);
      p.addcdiv_(expAvg[i], denom, -stepSize);
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void RegisterAutograd(Napi::Env env, Napi::Object exports) {
  CLP_EXPORT(exports, env, "requires_grad", RequiresGrad);
  CLP_EXPORT(exports, env, "requires_grad_", SetRequiresGrad);
  CLP_EXPORT(exports, env, "is_grad_enabled", IsGradEnabled);
  CLP_EXPORT(exports, env, "set_grad_enabled", SetGradEnabled);
  CLP_EXPORT(exports, env, "backward", Backward);
  CLP_EXPORT(exports, env, "grad", Grad);
  CLP_EXPORT(exports, env, "set_grad", SetGrad);
  CLP_EXPORT(exports, env, "zero_grad", ZeroGrad);
  CLP_EXPORT(exports, env, "clip_grad_norm_", ClipGradNorm);
  CLP_EXPORT(exports, env, "adamw_step", AdamwStep);
}

}  // namespace clp
