/** Errors that stop an RL run. */

/**
 * Raised after `rl.maxSkippedUpdates` consecutive steps that made no update, because the loss or
 * the gradient norm was not finite or because no sample could be scored. Skipped steps leave the parameters and the optimizer unchanged, so the resumable
 * checkpoint saved before raising contains the parameters of the last applied update.
 */
export class SkippedUpdatesError extends Error {
  override readonly name = "SkippedUpdatesError";

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
