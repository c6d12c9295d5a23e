/** Leave-one-out baselines for REINFORCE with k samples per (prompt, weight) group. */

/**
 * Advantages Aᵢ = Rᵢ − mean_{j≠i} Rⱼ within each group (Kool et al. 2019; Ahmadian et al. 2024).
 * Rewards marked null are unscorable: they get advantage 0 and are left out of the others'
 * baselines. A group with fewer than two scorable samples gets zero advantages.
 */
export function leaveOneOutAdvantages(groups: readonly (readonly (number | null)[])[]): number[][] {
  return groups.map((rewards) => {
    if (rewards.length < 2) {
      throw new RangeError(`leave-one-out needs at least 2 samples per group, got ${rewards.length}`);
    }
    const scored = rewards.filter((r): r is number => r !== null);
    const n = scored.length;
    const total = scored.reduce((a, b) => a + b, 0);
    return rewards.map((r) => (r === null || n < 2 ? 0 : r - (total - r) / (n - 1)));
  });
}
