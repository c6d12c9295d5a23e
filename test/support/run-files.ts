// Comparisons of the files two training runs wrote, for the tests that resume runs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSafetensors } from "../../src/model/safetensors.js";
import * as torch from "../../src/torch/index.js";

/** Reads a run's metrics records without their timing fields, which differ between runs. */
export function metricsOf(runDir: string): Record<string, unknown>[] {
  const text = readFileSync(join(runDir, "metrics.jsonl"), "utf8");
  assert.ok(text === "" || text.endsWith("\n"), `${runDir}/metrics.jsonl ends in a partial line`);
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const { stepSeconds: _a, rolloutSeconds: _b, elapsedSeconds: _c, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

/** Asserts that two safetensors files hold the same tensors, bit for bit. */
export function tensorsEqual(a: string, b: string): void {
  const left = loadSafetensors(a).tensors;
  const right = loadSafetensors(b).tensors;
  assert.deepEqual([...left.keys()].sort(), [...right.keys()].sort());
  for (const [name, t] of left) {
    const u = right.get(name)!;
    assert.equal(torch.tidy(() => t.sub(u).abs().amax().item()), 0, name);
  }
  for (const t of [...left.values(), ...right.values()]) t.dispose();
}
