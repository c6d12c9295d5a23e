#!/usr/bin/env node
// Entry point of the clp command; the implementation is the compiled TypeScript in dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("clp is not built yet: run `npm run setup` in the clp checkout first.\n");
  process.exit(1);
}
// A closed pipe (`clp eval … | head`) ends the output the reader wanted, so exit quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
const { main } = await import(entry.href);
try {
  await main(process.argv.slice(2));
} catch (err) {
  // Errors clp raises on bad input carry a message that names the value and the fix.
  const known = ["UsageError", "ClpConfigError", "ConfigError", "CheckpointError", "WeightError", "PolicyMismatchError",
    "DataError", "RewardError", "RewardModuleError", "TokenizerFileError", "TorchError", "PromptFormatError", "ReportError", "TrainingInterrupted",
    "RunWriteError", "SkippedUpdatesError"];
  // Node's file-system errors (ENOENT, EACCES, EISDIR, ENOTDIR, …) name the call and the path.
  const fileSystemError = err instanceof Error && typeof err.code === "string" && /^E[A-Z]+$/.test(err.code) && typeof err.path === "string";
  if (err instanceof Error && (known.includes(err.name) || fileSystemError)) {
    process.stderr.write(`clp: ${err.message}\n`);
  } else {
    process.stderr.write(`clp: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.exit(1);
}
