/** Appends one JSON object per line to a metrics file, flushed on every write. */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A JSON Lines writer for per-step metrics. */
export class JsonlWriter {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }
}
