/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each name to {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
 */
import { readFileSync } from "node:fs";
import * as torch from "../torch/index.js";
import { keep, type DType, type Tensor } from "../torch/index.js";
import { writeFileAtomic } from "../util/fs-errors.js";

export { writeFileAtomic };

/** Thrown for a missing, truncated or malformed safetensors file; names the file and the entry. */
export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

const TO_FILE: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  uint8: "U8",
  bool: "BOOL",
};
const FROM_FILE: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: "float32", bytes: 4 },
  F64: { dtype: "float64", bytes: 8 },
  I64: { dtype: "int64", bytes: 8 },
  I32: { dtype: "int32", bytes: 4 },
  U8: { dtype: "uint8", bytes: 1 },
  BOOL: { dtype: "bool", bytes: 1 },
};

/**
 * Writes `tensors` to `path` atomically: a temporary file is written and fsynced, then renamed over
 * the target, so a crash leaves either the old file or the new one, never a partial file.
 */
export function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const data = t.dtype === "bool" ? t.to("uint8").data() : t.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pads the header with spaces so the data starts 8-byte aligned, as the format recommends.
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  writeFileAtomic(path, [prefix, headerBytes, ...chunks]);
}

/** Loads every tensor of a safetensors file (each kept: the caller owns them). */
export function loadSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new CheckpointError(`${path}: cannot read the weights file (${(err as Error).message})`);
  }
  if (buf.byteLength < 8) throw new CheckpointError(`${path}: file is too short to be safetensors`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength > buf.byteLength - 8) {
    throw new CheckpointError(`${path}: header length ${headerLength} exceeds the file size; the file is truncated`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new CheckpointError(`${path}: the safetensors header is not valid JSON`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  try {
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = entry as Record<string, string>;
        continue;
      }
      const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      const kind = FROM_FILE[e.dtype ?? ""];
      if (kind === undefined) throw new CheckpointError(`${path}: tensor "${name}" has unsupported dtype ${e.dtype}`);
      if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
        throw new CheckpointError(`${path}: tensor "${name}" lacks shape or data_offsets`);
      }
      const [begin, end] = e.data_offsets;
      const numel = e.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== numel * kind.bytes || dataStart + end > buf.byteLength) {
        throw new CheckpointError(`${path}: tensor "${name}" has ${end - begin} bytes for shape [${e.shape}]; the file is corrupt or truncated`);
      }
      const bytes = new Uint8Array(buf.subarray(dataStart + begin, dataStart + end));
      const view = typedView(bytes, kind.dtype);
      const t = torch.fromArray(view, e.shape, kind.dtype === "bool" ? "bool" : undefined);
      tensors.set(name, keep(t));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function typedView(bytes: Uint8Array, dtype: DType): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  const b = bytes.buffer;
  switch (dtype) {
    case "float32":
      return new Float32Array(b, bytes.byteOffset, bytes.byteLength / 4);
    case "float64":
      return new Float64Array(b, bytes.byteOffset, bytes.byteLength / 8);
    case "int64":
      return new BigInt64Array(b, bytes.byteOffset, bytes.byteLength / 8);
    case "int32":
      return new Int32Array(b, bytes.byteOffset, bytes.byteLength / 4);
    default:
      return bytes;
  }
}
