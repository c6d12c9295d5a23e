/** Learning-rate schedule: linear warmup, then cosine decay to a floor. */

/** The learning rate at 0-based `step` of `totalSteps`. */
export function cosineLr(step: number, totalSteps: number, peak: number, warmup: number, floor: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}
