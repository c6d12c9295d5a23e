// Neural-network ops: matrix products, embedding, normalisation, softmax, dropout and losses.
#include "clp.h"

namespace clp {
namespace {

CLP_FN(Matmul) {
  CLP_GUARD("matmul", { return Wrap(info.Env(), at::matmul(Unwrap(info[0], "input"), Unwrap(info[1], "other"))); });
}

CLP_FN(Bmm) {
  CLP_GUARD("bmm", { return Wrap(info.Env(), at::bmm(Unwrap(info[0], "input"), Unwrap(info[1], "mat2"))); });
}

// linear(x, weight[out,in], bias?) computes x @ weight^T + bias.
CLP_FN(Linear) {
  CLP_GUARD("linear", {
    return Wrap(info.Env(), at::linear(Unwrap(info[0], "input"), Unwrap(info[1], "weight"),
                                       OptionalTensor(info[2], "bias")));
  });
}

CLP_FN(Embedding) {
  CLP_GUARD("embedding", {
    return Wrap(info.Env(), at::embedding(Unwrap(info[0], "weight"), Unwrap(info[1], "indices")));
  });
}

CLP_FN(LayerNorm) {
  CLP_GUARD("layer_norm", {
    return Wrap(info.Env(), at::layer_norm(Unwrap(info[0], "input"), IntList(info[1], "normalizedShape"),
                                           OptionalTensor(info[2], "weight"), OptionalTensor(info[3], "bias"),
                                           Double(info[4], "eps"), false));
  });
}

CLP_FN(Softmax) {
  CLP_GUARD("softmax", { return Wrap(info.Env(), at::softmax(Unwrap(info[0], "input"), Int(info[1], "dim"))); });
}

CLP_FN(LogSoftmax) {
  CLP_GUARD("log_softmax", {
    return Wrap(info.Env(), at::log_softmax(Unwrap(info[0], "input"), Int(info[1], "dim")));
  });
}

CLP_FN(Dropout) {
  CLP_GUARD("dropout", {
    return Wrap(info.Env(), at::dropout(Unwrap(info[0], "input"), Double(info[1], "p"), Bool(info[2], "train")));
  });
}

CLP_FN(OneHot) {
  CLP_GUARD("one_hot", { return Wrap(info.Env(), at::one_hot(Unwrap(info[0], "input"), Int(info[1], "numClasses"))); });
}

// cross_entropy(logits[N,C], target[N], reduction "none"|"mean"|"sum", ignoreIndex, labelSmoothing)
CLP_FN(CrossEntropy) {
  CLP_GUARD("cross_entropy", {
    std::string reduction = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "mean";
    int64_t r;
    if (reduction == "none") {
      r = at::Reduction::None;
    } else if (reduction == "mean") {
      r = at::Reduction::Mean;
    } else if (reduction == "sum") {
      r = at::Reduction::Sum;
    } else {
      throw Napi::TypeError::New(info.Env(), "reduction must be \"none\", \"mean\" or \"sum\", got \"" + reduction + "\"");
    }
    return Wrap(info.Env(), at::cross_entropy_loss(Unwrap(info[0], "input"), Unwrap(info[1], "target"),
                                                   c10::nullopt, r, Int(info[3], "ignoreIndex"),
                                                   Double(info[4], "labelSmoothing")));
  });
}

}  // namespace

void RegisterNn(Napi::Env env, Napi::Object exports) {
  CLP_EXPORT(exports, env, "matmul", Matmul);
  CLP_EXPORT(exports, env, "bmm", Bmm);
  CLP_EXPORT(exports, env, "linear", Linear);
  CLP_EXPORT(exports, env, "embedding", Embedding);
  CLP_EXPORT(exports, env, "layer_norm", LayerNorm);
  CLP_EXPORT(exports, env, "softmax", Softmax);
  CLP_EXPORT(exports, env, "log_softmax", LogSoftmax);
  CLP_EXPORT(exports, env, "dropout", Dropout);
  CLP_EXPORT(exports, env, "one_hot", OneHot);
  CLP_EXPORT(exports, env, "cross_entropy", CrossEntropy);
}

}  // namespace clp
