/** Errors that stop an RL run. */

/**
 * Raised after `rl.maxSkippedUpdates` consecutive steps whose loss or gradient norm was not
 * finite. Skipped steps leave the parameters and the optimizer unchanged, so the resumable
 * checkpoint saved before raising contains the parameters of the last applied update.
 */
export class NonFiniteUpdateError extends Error {
  override readonly name = "NonFiniteUpdateError";

  constructor(
    message: string,
    /** RL step (1-based) at which training stopped. */
    readonly step: number,
    /** Steps completed before the skipped ones: the step of the last applied update, or 0. */
    readonly lastUpdatedStep: number,
    /** Folder of the resumable checkpoint saved before raising. */
    readonly checkpointDir: string,
  ) {
    super(message);
  }
}
