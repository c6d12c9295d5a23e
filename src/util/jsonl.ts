/** Appends one JSON object per line to a metrics file, and cuts such a file back to a prefix. */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../model/safetensors.js";
import { withPath } from "./fs-errors.js";

/** A JSON Lines writer for per-step metrics. */
export class JsonlWriter {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /**
   * Appends `record` as one line, handed to the operating system before returning (not fsynced).
   * A write that fails part-way, as on a full disk, is cut off again, so the file only ever contains
   * whole lines. The error names the file.
   */
  write(record: Record<string, unknown>): void {
    const line = Buffer.from(JSON.stringify(record) + "\n");
    let fd: number;
    try {
      fd = openSync(this.path, "a");
    } catch (err) {
      throw withPath(err, this.path);
    }
    try {
      const size = fstatSync(fd).size;
      try {
        let written = 0;
        while (written < line.byteLength) written += writeSync(fd, line, written);
      } catch (err) {
        ftruncateSync(fd, size);
        throw err;
      }
    } catch (err) {
      throw withPath(err, this.path);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Cuts a JSON Lines file to its first `count` records. A file of whole lines, as JsonlWriter writes
 * them, is truncated in place, which needs no free disk space. When a blank line or an unfinished
 * last line comes before the cut, the kept records are rewritten through a temporary file.
 */
export function truncateJsonl(path: string, count: number): void {
  const bytes = readFileSync(path);
  let end = 0;
  let records = 0;
  let whole = true;
  while (records < count && end < bytes.byteLength) {
    const newline = bytes.indexOf(0x0a, end);
    if (newline < 0 || bytes.subarray(end, newline).toString("utf8").trim() === "") {
      whole = false;
      break;
    }
    records++;
    end = newline + 1;
  }
  if (whole) {
    if (end === bytes.byteLength) return;
    const fd = openSync(path, "r+");
    try {
      ftruncateSync(fd, end);
      fsyncSync(fd);
    } catch (err) {
      throw withPath(err, path);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const kept = bytes.toString("utf8").split("\n").filter((line) => line.trim() !== "").slice(0, count);
  writeFileAtomic(path, [Buffer.from(kept.map((line) => line + "\n").join(""))]);
}
