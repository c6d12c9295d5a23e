// Shape and indexing ops: views, joins and selections.
#include "clp.h"

namespace clp {
namespace {

CLP_FN(Reshape) {
  CLP_GUARD("reshape", { return Wrap(info.Env(), at::reshape(Unwrap(info[0], "input"), IntList(info[1], "shape"))); });
}

CLP_FN(Permute) {
  CLP_GUARD("permute", { return Wrap(info.Env(), Unwrap(info[0], "input").permute(IntList(info[1], "dims"))); });
}

CLP_FN(Transpose) {
  CLP_GUARD("transpose", {
    return Wrap(info.Env(), at::transpose(Unwrap(info[0], "input"), Int(info[1], "dim0"), Int(info[2], "dim1")));
  });
}

CLP_FN(Unsqueeze) {
  CLP_GUARD("unsqueeze", { return Wrap(info.Env(), at::unsqueeze(Unwrap(info[0], "input"), Int(info[1], "dim"))); });
}

CLP_FN(Squeeze) {
  CLP_GUARD("squeeze", {
    const at::Tensor& x = Unwrap(info[0], "input");
    if (info.Length() < 2 || info[1].IsUndefined() || info[1].IsNull()) return Wrap(info.Env(), at::squeeze(x));
    return Wrap(info.Env(), at::squeeze(x, Int(info[1], "dim")));
  });
}

CLP_FN(Expand) {
  CLP_GUARD("expand", { return Wrap(info.Env(), Unwrap(info[0], "input").expand(IntList(info[1], "shape"))); });
}

CLP_FN(Narrow) {
  CLP_GUARD("narrow", {
    return Wrap(info.Env(), at::narrow(Unwrap(info[0], "input"), Int(info[1], "dim"), Int(info[2], "start"),
                                       Int(info[3], "length")));
  });
}

CLP_FN(Select) {
  CLP_GUARD("select", {
    return Wrap(info.Env(), at::select(Unwrap(info[0], "input"), Int(info[1], "dim"), Int(info[2], "index")));
  });
}

CLP_FN(IndexSelect) {
  CLP_GUARD("index_select", {
    return Wrap(info.Env(), at::index_select(Unwrap(info[0], "input"), Int(info[1], "dim"),
                                             Unwrap(info[2], "index")));
  });
}

CLP_FN(Cat) {
  CLP_GUARD("cat", { return Wrap(info.Env(), at::cat(UnwrapList(info[0], "tensors"), Int(info[1], "dim"))); });
}

CLP_FN(Stack) {
  CLP_GUARD("stack", { return Wrap(info.Env(), at::stack(UnwrapList(info[0], "tensors"), Int(info[1], "dim"))); });
}

CLP_FN(Tril) {
  CLP_GUARD("tril", { return Wrap(info.Env(), at::tril(Unwrap(info[0], "input"), Int(info[1], "diagonal"))); });
}

CLP_FN(Triu) {
  CLP_GUARD("triu", { return Wrap(info.Env(), at::triu(Unwrap(info[0], "input"), Int(info[1], "diagonal"))); });
}

CLP_FN(Repeat) {
  CLP_GUARD("repeat", { return Wrap(info.Env(), Unwrap(info[0], "input").repeat(IntList(info[1], "repeats"))); });
}

CLP_FN(RepeatInterleave) {
  CLP_GUARD("repeat_interleave", {
    return Wrap(info.Env(), at::repeat_interleave(Unwrap(info[0], "input"), Int(info[1], "repeats"),
                                                  Int(info[2], "dim")));
  });
}

CLP_FN(Flip) {
  CLP_GUARD("flip", { return Wrap(info.Env(), at::flip(Unwrap(info[0], "input"), IntList(info[1], "dims"))); });
}

CLP_FN(Gather) {
  CLP_GUARD("gather", {
    return Wrap(info.Env(), at::gather(Unwrap(info[0], "input"), Int(info[1], "dim"), Unwrap(info[2], "index")));
  });
}

CLP_FN(ScatterAdd) {
  CLP_GUARD("scatter_add", {
    return Wrap(info.Env(), at::scatter_add(Unwrap(info[0], "input"), Int(info[1], "dim"),
                                            Unwrap(info[2], "index"), Unwrap(info[3], "src")));
  });
}

}  // namespace

void RegisterShape(Napi::Env env, Napi::Object exports) {
  CLP_EXPORT(exports, env, "reshape", Reshape);
  CLP_EXPORT(exports, env, "permute", Permute);
  CLP_EXPORT(exports, env, "transpose", Transpose);
  CLP_EXPORT(exports, env, "unsqueeze", Unsqueeze);
  CLP_EXPORT(exports, env, "squeeze", Squeeze);
  CLP_EXPORT(exports, env, "expand", Expand);
  CLP_EXPORT(exports, env, "narrow", Narrow);
  CLP_EXPORT(exports, env, "select", Select);
  CLP_EXPORT(exports, env, "index_select", IndexSelect);
  CLP_EXPORT(exports, env, "cat", Cat);
  CLP_EXPORT(exports, env, "stack", Stack);
  CLP_EXPORT(exports, env, "tril", Tril);
  CLP_EXPORT(exports, env, "triu", Triu);
  CLP_EXPORT(exports, env, "repeat", Repeat);
  CLP_EXPORT(exports, env, "repeat_interleave", RepeatInterleave);
  CLP_EXPORT(exports, env, "flip", Flip);
  CLP_EXPORT(exports, env, "gather", Gather);
  CLP_EXPORT(exports, env, "scatter_add", ScatterAdd);
}

}  // namespace clp
