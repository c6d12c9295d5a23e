// The numbers of a comparison of several methods: hypervolume against one shared reference point,
// the paired bootstrap interval and dominance shares against the first method, and each method's
// steerability over its grid. Everything here goes into compare.json.

import {
  dominanceShare,
  pairedBootstrapHypervolume,
  type BootstrapHypervolume,
  type PerPromptRewards,
} from "./compare.js";
import { checkComparable, type CompareMethod, type GridMatch } from "./compare-inputs.js";
import { BUDGET_FIELDS, ReportError, type BudgetField, type EvalFile } from "./eval-file.js";
import { hypervolume, sharedReferencePoint } from "./hypervolume.js";
import {
  edgeMonotonicity,
  rankCorrelations,
  rewardRanges,
  type MonotonicityReport,
  type RewardRange,
} from "./steerability.js";

/** Value of the "format" field of compare.json. */
export const COMPARE_FORMAT = "clp-compare/1";

/** Defaults of CompareOptions. */
export const COMPARE_DEFAULTS = {
  resamples: 1000,
  seed: 0,
  level: 0.95,
  margin: 0.1,
} as const;

/** Options of compareMethods. */
export interface CompareOptions {
  /** Bootstrap resamples, an integer ≥ 2 (default 1000). */
  resamples?: number;
  /** Seed of the bootstrap's prompt draws (default 0). */
  seed?: number;
  /** Confidence level of the bootstrap interval (default 0.95). */
  level?: number;
  /** Margin of the shared reference point, a fraction of each objective's range (default 0.1). */
  margin?: number;
  /**
   * Hypervolume reference point, one raw reward per objective, in place of the one derived from
   * the methods compared. A fixed point keeps hypervolumes comparable across reports.
   */
  referencePoint?: readonly number[];
  /** The command line that produced the comparison, recorded in the report. */
  command?: string;
}

/** One method measured against the first method of the comparison. */
export interface VersusFirst {
  /**
   * HV(method) − HV(first) with its paired bootstrap interval, or null when a file has no
   * per-prompt rewards.
   */
  hypervolumeDifference: BootstrapHypervolume | null;
  /** Reason that hypervolumeDifference is null. */
  intervalNote: string | null;
  /** Share of the shared grid weights where this method's means dominate the first's. */
  dominatesFirst: number;
  /** Share of the shared grid weights where the first method's means dominate this one's. */
  dominatedByFirst: number;
  /** Number of grid weights both methods were evaluated at. */
  sharedWeights: number;
  /** True when one grid has weights the other lacks, so dominance covers the shared ones only. */
  partialGrid: boolean;
}

/** Mean rewards of one evaluated point, as plotted. */
export interface PointSummary {
  weights: number[];
  means: number[];
  stderrs: (number | null)[];
  kl: number | null;
}

/** Everything measured for one method. */
export interface MethodMetrics {
  name: string;
  path: string;
  /** Policy kind recorded in the file, or null. */
  method: string | null;
  title: string;
  /** The file's format, or null for files written before clp-eval/1. */
  format: string | null;
  klCoef: number | null;
  gridPoints: number;
  /** Hypervolume of the grid means (π_ref excluded) above the shared reference point. */
  hypervolume: number;
  /** Spearman correlation of wᵢ and reward i over the grid per objective, NaN when undefined. */
  rankCorrelations: number[];
  monotonicity: MonotonicityReport;
  rewardRanges: RewardRange[];
  /** Mean over the grid of KL(π‖π_ref) in nats, or null when no point recorded it. */
  meanKl: number | null;
  /** Vertex steering checks recorded by clp eval, or null when the file has none. */
  vertexChecks: { passed: number; total: number } | null;
  /** Null for the first method, which the others are measured against. */
  versusFirst: VersusFirst | null;
  points: PointSummary[];
  reference: PointSummary;
}

/** The numbers of a comparison, written to compare.json. */
export interface Comparison {
  format: typeof COMPARE_FORMAT;
  command: string | null;
  objectives: string[];
  /** Decoding settings and sample budget shared by every method. */
  settings: Record<BudgetField, number>;
  /** Number of test prompts in the per-prompt rewards, or null when no file has them. */
  perPromptCount: number | null;
  /** `given` is true when the reference point came from CompareOptions.referencePoint. */
  hypervolume: { referencePoint: number[]; margin: number; given: boolean };
  bootstrap: { resamples: number; seed: number; level: number };
  methods: MethodMetrics[];
  /** Caveats that apply to the numbers, in plain sentences. */
  notes: string[];
}

/**
 * Measures every method and each one against the first.
 * @throws ReportError, naming the file, when the methods cannot be compared (see
 *   checkComparable) or a metric rejects a file's values.
 */
export function compareMethods(
  methods: readonly CompareMethod[],
  options: CompareOptions = {},
): Comparison {
  const matches = checkComparable(methods);
  const first = methods[0]!;
  const resamples = options.resamples ?? COMPARE_DEFAULTS.resamples;
  const seed = options.seed ?? COMPARE_DEFAULTS.seed;
  const level = options.level ?? COMPARE_DEFAULTS.level;
  const margin = options.margin ?? COMPARE_DEFAULTS.margin;

  const pointSets = methods.flatMap(({ file }) => [
    file.points.map((point) => point.means),
    [file.reference.means],
  ]);
  const referencePoint = options.referencePoint === undefined ? sharedReferencePoint(pointSets, margin) : [...options.referencePoint];
  if (referencePoint.length !== first.file.objectives.length || !referencePoint.every(Number.isFinite)) {
    throw new ReportError(
      `reference point [${referencePoint.join(", ")}] must have one finite number per objective (${first.file.objectives.join(", ")})`,
    );
  }

  const metrics = methods.map((method, index) => {
    const own = measureMethod(method, referencePoint);
    if (index > 0) {
      const bootstrap = { resamples, seed, level };
      own.versusFirst = measureAgainstFirst(
        first,
        method,
        matches[index]!,
        referencePoint,
        bootstrap,
      );
    }
    return own;
  });

  return {
    format: COMPARE_FORMAT,
    command: options.command ?? null,
    objectives: [...first.file.objectives],
    settings: budgetSettings(first.file),
    perPromptCount: perPromptCount(methods),
    hypervolume: { referencePoint, margin, given: options.referencePoint !== undefined },
    bootstrap: { resamples, seed, level },
    methods: metrics,
    notes: comparisonNotes(methods, metrics, resamples),
  };
}

/** Returns the prompt count of the first method that has per-prompt rewards, or null. */
function perPromptCount(methods: readonly CompareMethod[]): number | null {
  for (const { file } of methods) {
    const rows = file.points[0]!.perPrompt;
    if (rows !== null) return rows.length;
  }
  return null;
}

function budgetSettings(file: EvalFile): Record<BudgetField, number> {
  const settings = {} as Record<BudgetField, number>;
  for (const field of BUDGET_FIELDS) settings[field] = file.settings[field] as number;
  return settings;
}

function measureMethod(method: CompareMethod, referencePoint: readonly number[]): MethodMetrics {
  const { file } = method;
  const weights = file.points.map((point) => point.weights);
  const means = file.points.map((point) => point.means);
  const m = file.objectives.length;
  const kls = file.points.map((point) => point.kl).filter((kl): kl is number => kl !== null);
  const checks = file.steering;
  return withFileContext(file, () => ({
    name: method.name,
    path: file.path,
    method: file.method,
    title: file.title,
    format: file.format,
    klCoef: file.klCoef,
    gridPoints: file.points.length,
    hypervolume: hypervolume(means, referencePoint),
    // A correlation needs two grid points, so a one-point grid gets NaN like a constant reward.
    rankCorrelations:
      weights.length < 2 ? new Array<number>(m).fill(NaN) : rankCorrelations(weights, means),
    monotonicity: edgeMonotonicity(weights, means),
    rewardRanges: rewardRanges(means),
    meanKl: kls.length === 0 ? null : kls.reduce((a, b) => a + b, 0) / kls.length,
    vertexChecks:
      checks.length === 0
        ? null
        : { passed: checks.filter((check) => check.passed).length, total: checks.length },
    versusFirst: null,
    points: file.points.map(({ weights, means, stderrs, kl }) => ({ weights, means, stderrs, kl })),
    reference: {
      weights: [],
      means: file.reference.means,
      stderrs: file.reference.stderrs,
      kl: file.reference.kl,
    },
  }));
}

function measureAgainstFirst(
  first: CompareMethod,
  method: CompareMethod,
  match: GridMatch,
  referencePoint: readonly number[],
  bootstrap: { resamples: number; seed: number; level: number },
): VersusFirst {
  const firstRows = match.pairs.map(([a]) => first.file.points[a]!.means);
  const methodRows = match.pairs.map(([, b]) => method.file.points[b]!.means);
  const dominance = dominanceShare(methodRows, firstRows);
  const versus: VersusFirst = {
    hypervolumeDifference: null,
    intervalNote: null,
    dominatesFirst: dominance.aDominatesB,
    dominatedByFirst: dominance.bDominatesA,
    sharedWeights: dominance.gridPoints,
    partialGrid: match.partial,
  };
  const missing = [first.file, method.file].find((file) => file.points[0]!.perPrompt === null);
  if (missing !== undefined) {
    versus.intervalNote =
      `not available: ${missing.path} has no per-prompt rewards ` +
      `(it was written before the clp-eval/1 format)`;
    return versus;
  }
  const perPromptMethod = method.file.points.map((point) => point.perPrompt!);
  const perPromptFirst = first.file.points.map((point) => point.perPrompt!);
  versus.hypervolumeDifference = withFileContext(method.file, () =>
    pairedBootstrapHypervolume(
      padGrid(perPromptMethod, perPromptFirst.length),
      padGrid(perPromptFirst, perPromptMethod.length),
      referencePoint,
      bootstrap,
    ),
  );
  return versus;
}

/**
 * Pads a method's per-prompt rewards to `length` grid points with copies of its first point, so
 * that a coarser per-weight grid can enter pairedBootstrapHypervolume, which expects equal grid
 * sizes. The result is exact: in every resample a copy has the same mean as the point it copies,
 * and a duplicate point adds nothing to a hypervolume.
 */
function padGrid(perPrompt: PerPromptRewards, length: number): PerPromptRewards {
  if (perPrompt.length >= length) return perPrompt;
  return [...perPrompt, ...new Array(length - perPrompt.length).fill(perPrompt[0])];
}

/** Runs a metric and turns its RangeError into a ReportError that names the file. */
function withFileContext<T>(file: EvalFile, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (error instanceof RangeError) throw new ReportError(`${file.path}: ${error.message}`);
    throw error;
  }
}

/** Prompt count below which the report warns that bootstrap intervals are too narrow (a rule of thumb). */
const FEW_PROMPTS = 30;

/** Resample count below which the report calls the interval bounds rough. */
const FEW_RESAMPLES = 100;

function comparisonNotes(
  methods: readonly CompareMethod[],
  metrics: readonly MethodMetrics[],
  resamples: number,
): string[] {
  const notes: string[] = [];
  const first = methods[0]!;
  const prompts = perPromptCount(methods);
  if (methods.length > 1 && prompts !== null && prompts < FEW_PROMPTS) {
    notes.push(
      `The intervals resample only ${prompts} test prompts; percentile bootstrap intervals from fewer than ` +
        `${FEW_PROMPTS} are too narrow, so evaluate more prompts before reading them.`,
    );
  }
  if (methods.length > 1 && resamples < FEW_RESAMPLES) {
    notes.push(
      `The intervals come from only ${resamples} bootstrap resamples, so their bounds are rough; ` +
        `use --resamples ${COMPARE_DEFAULTS.resamples} or more for numbers to report.`,
    );
  }
  metrics.forEach((entry) => {
    if (entry.hypervolume === 0) {
      notes.push(`No grid mean of ${entry.name} dominates the reference point, so its hypervolume is 0.`);
    }
    const versus = entry.versusFirst;
    if (versus?.partialGrid) {
      notes.push(
        `${entry.name} and ${first.name} share ${versus.sharedWeights} grid weights ` +
          `(${entry.gridPoints} and ${first.file.points.length} evaluated); dominance shares ` +
          `compare the shared weights only, while each hypervolume uses the method's whole grid.`,
      );
    }
    if (versus?.intervalNote) {
      notes.push(`Hypervolume interval of ${entry.name} vs ${first.name}: ${versus.intervalNote}.`);
    }
  });
  return notes;
}
