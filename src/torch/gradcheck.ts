/**
 * Finite-difference gradient check: compares the gradients backward computes with central
 * differences, in float64, for a function of tensors.
 */
import { Tensor } from "./tensor.js";
import { fromArray, noGrad, randn } from "./functional.js";
import { tidy } from "./scope.js";

/** The largest disagreement found, per input. */
export interface GradcheckResult {
  maxAbsError: number[];
  maxRelError: number[];
}

/**
 * Checks d sum(f(inputs) * r) / d inputs for a fixed random r. Inputs must be float64 leaves;
 * each gets requiresGrad. Returns the worst absolute and relative error per input.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6): GradcheckResult {
  return tidy(() => {
    for (const x of inputs) {
      if (x.dtype !== "float64") throw new TypeError(`gradcheck needs float64 inputs, got ${x.dtype}`);
      x.requiresGrad_(true);
      x.grad = null;
    }
    const probe = fn(...inputs);
    const weights = randn(probe.shape, "float64");
    probe.mul(weights).sum().backward();
    const analytic = inputs.map((x) => x.grad?.toFloat64Array() ?? new Float64Array(x.numel));

    const objective = (values: Tensor[]): number =>
      tidy(() => noGrad(() => fn(...values).mul(weights).sum().item()));

    const maxAbsError: number[] = [];
    const maxRelError: number[] = [];
    inputs.forEach((x, index) => {
      const base = x.toFloat64Array();
      let worstAbs = 0;
      let worstRel = 0;
      for (let i = 0; i < base.length; i++) {
        const shifted = (delta: number): number =>
          tidy(() => {
            const data = base.slice();
            data[i] = (data[i] ?? 0) + delta;
            const replaced = inputs.map((y, j) => (j === index ? fromArray(data, x.shape, "float64") : y.detach()));
            return objective(replaced);
          });
        const numeric = (shifted(eps) - shifted(-eps)) / (2 * eps);
        const exact = analytic[index]?.[i] ?? 0;
        const abs = Math.abs(numeric - exact);
        worstAbs = Math.max(worstAbs, abs);
        worstRel = Math.max(worstRel, abs / Math.max(1, Math.abs(numeric), Math.abs(exact)));
      }
      maxAbsError.push(worstAbs);
      maxRelError.push(worstRel);
    });
    return { maxAbsError, maxRelError };
  });
}
