#!/usr/bin/env node
// Locates libtorch for binding.gyp. Prints include dirs, link flags or defines, one per line.
// Order: $LIBTORCH (the layout of the official libtorch zip, or LIBTORCH_INCLUDE/LIBTORCH_LIB),
// then Debian's libtorch-dev paths. Fails with one message naming what was searched and the fixes.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const SUPPORTED = [[1, 13]];

function fail(message) {
  process.stderr.write(`clp: ${message}\n`);
  process.exit(1);
}

function candidates() {
  const env = process.env;
  if (env.LIBTORCH || env.LIBTORCH_INCLUDE) {
    const root = env.LIBTORCH || "";
    const include = env.LIBTORCH_INCLUDE || path.join(root, "include");
    const lib = env.LIBTORCH_LIB || path.join(root, "lib");
    return [{ include, lib, rpath: true, cmake: path.join(root, "share/cmake/Torch/TorchConfig.cmake") }];
  }
  return [
    {
      include: "/usr/include",
      lib: "/usr/lib/x86_64-linux-gnu",
      rpath: false,
      cmake: "/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake",
    },
    {
      include: "/usr/include",
      lib: "/usr/lib/aarch64-linux-gnu",
      rpath: false,
      cmake: "/usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake",
    },
  ];
}

function locate() {
  const searched = [];
  for (const c of candidates()) {
    const versionH = path.join(c.include, "torch/csrc/api/include/torch/version.h");
    const libTorch = path.join(c.lib, "libtorch.so");
    searched.push(versionH, libTorch);
    if (fs.existsSync(versionH) && fs.existsSync(libTorch)) return { ...c, versionH };
  }
  fail(
    `libtorch not found (searched ${searched.join(", ")}).\n` +
      "Install it with: apt-get install -y --no-install-recommends libtorch-dev libopenblas0-pthread\n" +
      "or point LIBTORCH at an unpacked libtorch folder: LIBTORCH=/path/to/libtorch npm run setup",
  );
}

function checkVersion(found) {
  const text = fs.readFileSync(found.versionH, "utf8");
  const major = Number(/TORCH_VERSION_MAJOR (\d+)/.exec(text)?.[1]);
  const minor = Number(/TORCH_VERSION_MINOR (\d+)/.exec(text)?.[1]);
  const ok = SUPPORTED.some(([a, b]) => a === major && b === minor);
  if (!ok && process.env.LIBTORCH_BYPASS_VERSION_CHECK !== "1") {
    fail(
      `libtorch ${major}.${minor} at ${found.include} is not supported; clp's binding is written for ` +
        `${SUPPORTED.map((v) => v.join(".")).join(", ")}. Set LIBTORCH_BYPASS_VERSION_CHECK=1 to try anyway.`,
    );
  }
  return { major, minor };
}

function checkAbi(found) {
  if (!fs.existsSync(found.cmake)) return;
  const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(fs.readFileSync(found.cmake, "utf8"));
  if (m && m[1] !== "1") {
    fail(
      `libtorch at ${found.lib} was built with _GLIBCXX_USE_CXX11_ABI=${m[1]}, but Node addons here ` +
        "build with _GLIBCXX_USE_CXX11_ABI=1. Use the cxx11-ABI libtorch build.",
    );
  }
}

const found = locate();
const version = checkVersion(found);
checkAbi(found);
const what = process.argv[2];
if (what === "include") {
  console.log(found.include);
  console.log(path.join(found.include, "torch/csrc/api/include"));
} else if (what === "libs") {
  const flags = [`-L${found.lib}`];
  if (found.rpath) flags.push(`-Wl,-rpath,${found.lib}`);
  flags.push("-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10", "-Wl,--as-needed", "-ldl");
  console.log(flags.join("\n"));
} else if (what === "defines") {
  console.log(`CLP_TORCH_MAJOR=${version.major}`);
  console.log(`CLP_TORCH_MINOR=${version.minor}`);
} else {
  fail(`torch-config: unknown query "${what}"; expected include, libs or defines`);
}
