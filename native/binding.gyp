{
  "targets": [
    {
      "target_name": "clp_torch",
      "sources": [
        "src/addon.cc",
        "src/ops_create.cc",
        "src/ops_pointwise.cc",
        "src/ops_shape.cc",
        "src/ops_nn.cc",
        "src/autograd.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/torch-config.cjs include)"
      ],
      "libraries": ["<!@(node scripts/torch-config.cjs libs)"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "<!@(node scripts/torch-config.cjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter"]
    }
  ]
}
