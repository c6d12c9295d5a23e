/** Leave-one-out baselines for REINFORCE with k samples per (prompt, weight) group. */

/**
 * Tells whether a group gives no learning signal: fewer than two of its rewards are scorable, or
 * every scorable reward is equal. Its leave-one-out advantages are then all exactly 0.
 */
export function isFlatGroup(rewards: readonly (number | null)[]): boolean {
  const scored = rewards.filter((r): r is number => r !== null);
  return scored.length < 2 || scored.every((r) => r === scored[0]);
}

/**
 * Advantages Aᵢ = Rᵢ − mean_{j≠i} Rⱼ within each group (Kool et al. 2019; Ahmadian et al. 2024).
 * Rewards marked null are unscorable: they get advantage 0 and are left out of the others'
 * baselines. A flat group (see isFlatGroup) gets exact zeros, where the formula would leave
 * rounding residues of about 1e-17.
 */
export function leaveOneOutAdvantages(groups: readonly (readonly (number | null)[])[]): number[][] {
  return groups.map((rewards) => {
    if (rewards.length < 2) {
      throw new RangeError(`leave-one-out needs at least 2 samples per group, got ${rewards.length}`);
    }
    if (isFlatGroup(rewards)) return rewards.map(() => 0);
    const scored = rewards.filter((r): r is number => r !== null);
    const n = scored.length;
    const total = scored.reduce((a, b) => a + b, 0);
    return rewards.map((r) => (r === null ? 0 : r - (total - r) / (n - 1)));
  });
}
