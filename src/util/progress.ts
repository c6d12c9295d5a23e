/**
 * A one-line progress bar for long CLI work on a terminal; on other outputs it prints a plain line
 * every few seconds instead, so logs stay readable.
 */

/** Progress of `total` steps with a short status text. */
export class ProgressBar {
  private readonly start = Date.now();
  private lastPrint = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Shows `done` of `total` steps and `status`. */
  update(done: number, status = ""): void {
    if (!this.enabled) return;
    const now = Date.now();
    const final = done >= this.total;
    if (!final && now - this.lastPrint < (this.tty ? 200 : 10000)) return;
    this.lastPrint = now;
    const elapsed = (now - this.start) / 1000;
    const rate = done > 0 ? elapsed / done : 0;
    const eta = rate * (this.total - done);
    const width = 24;
    const filled = Math.round((width * done) / Math.max(1, this.total));
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const line = `${this.label} [${bar}] ${done}/${this.total} ${formatSeconds(elapsed)} (eta ${formatSeconds(eta)}) ${status}`;
    if (this.tty) this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K${final ? "\n" : ""}`);
    else this.stream.write(`${line}\n`);
  }
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}
