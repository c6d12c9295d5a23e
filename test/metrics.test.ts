// Tests of the evaluation metrics: Pareto fronts, hypervolume (hand-computed cases, cross-checks and
// a Monte Carlo estimate), the shared reference point, weight grids, steerability and the paired
// bootstrap comparison.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { simplexGrid, WeightError } from "../src/clp/weights.js";
import {
  dominanceShare,
  edgeMonotonicity,
  hypervolume,
  hypervolumeSlicing,
  pairedBootstrapHypervolume,
  paretoFront,
  parseWeightGrid,
  rankCorrelations,
  rewardRanges,
  sharedReferencePoint,
} from "../src/eval/metrics.js";
import { Rng } from "../src/util/rng.js";

/** Asserts |actual − expected| ≤ tolerance · max(1, |expected|). */
function assertClose(actual: number, expected: number, tolerance = 1e-12, message?: string): void {
  const bound = tolerance * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= bound, message ?? `expected ${expected}, got ${actual}`);
}

/** Shifts every point by `offset`, so a hand-computed case can be tested against any reference. */
function translate(points: number[][], offset: number[]): number[][] {
  return points.map((point) => point.map((value, i) => value + offset[i]!));
}

/** Draws n points in [0, 1)^m, half of them on the unit sphere so that many are non-dominated. */
function randomPoints(rng: Rng, n: number, m: number): number[][] {
  return Array.from({ length: n }, (_, index) => {
    const values = Array.from({ length: m }, () =>
      index % 2 === 0 ? Math.abs(rng.normal()) : rng.next(),
    );
    if (index % 2 === 1) return values;
    const norm = Math.hypot(...values);
    return values.map((value) => value / norm);
  });
}

describe("paretoFront", () => {
  test("keeps non-dominated points and both duplicates", () => {
    const points = [
      [1, 3],
      [2, 2],
      [3, 1],
      [1, 1],
      [2, 2],
      [0, 3],
    ];
    // [1, 1] is dominated by [2, 2], and [0, 3] by [1, 3]. The two copies of [2, 2] do not
    // dominate each other, so both indices stay.
    assert.deepEqual(paretoFront(points), [0, 1, 2, 4]);
  });

  test("weak dominance in one objective is enough", () => {
    assert.deepEqual(
      paretoFront([
        [1, 2, 3],
        [1, 2, 4],
        [0, 5, 0],
      ]),
      [1, 2],
    );
  });

  test("empty and single inputs", () => {
    assert.deepEqual(paretoFront([]), []);
    assert.deepEqual(paretoFront([[0.5, 0.5]]), [0]);
  });

  test("rejects ragged and non-finite rows", () => {
    assert.throws(
      () => paretoFront([[1, 2], [1]]),
      /paretoFront: point 1 has 1 values but 2 were expected/,
    );
    assert.throws(() => paretoFront([[1, Number.NaN]]), /paretoFront: point 0, objective 1 is NaN/);
  });
});

describe("hypervolume in 2-D", () => {
  const staircase = [
    [1, 3],
    [2, 2],
    [3, 1],
  ];
  // Sweeping by x descending: 3·1 + 2·(2 − 1) + 1·(3 − 2).
  const staircaseArea = 3 * 1 + 2 * (2 - 1) + 1 * (3 - 2);

  test("staircase of three points", () => {
    assert.equal(hypervolume(staircase, [0, 0]), staircaseArea);
  });

  test("duplicate and dominated points add nothing", () => {
    const points = [...staircase, [2, 2], [1, 1], [0.5, 2], [3, 1]];
    assert.equal(hypervolume(points, [0, 0]), staircaseArea);
  });

  test("points outside the reference box add nothing", () => {
    // [5, 0] lies on the boundary, so it does not strictly exceed the reference.
    const points = [...staircase, [5, -1], [5, 0], [-1, 5], [-2, -2]];
    assert.equal(hypervolume(points, [0, 0]), staircaseArea);
    assert.equal(
      hypervolume(
        [
          [5, 0],
          [-1, 5],
        ],
        [0, 0],
      ),
      0,
    );
    assert.equal(hypervolume([], [0, 0]), 0);
  });

  test("single point is the product of differences", () => {
    assert.equal(hypervolume([[3, 4]], [1, -2]), (3 - 1) * (4 - -2));
  });

  test("translation with the reference", () => {
    const offset = [-0.75, 10];
    assert.equal(hypervolume(translate(staircase, offset), offset), staircaseArea);
  });
});

describe("hypervolume in 3-D", () => {
  // Boxes [0, p] for A, B, C and D: the pairwise intersection of two boxes is the box of their
  // coordinate-wise minimum, so inclusion–exclusion gives the union exactly.
  const a = [3, 1, 1];
  const b = [1, 3, 1];
  const c = [1, 1, 3];
  const d = [2, 2, 2];

  test("single point is the product of differences", () => {
    assert.equal(hypervolume([[2, 3, 4]], [1, 1, 1]), (2 - 1) * (3 - 1) * (4 - 1));
  });

  test("three overlapping boxes by inclusion–exclusion", () => {
    // |A| + |B| + |C| − |A∩B| − |A∩C| − |B∩C| + |A∩B∩C|, every intersection being [1, 1, 1].
    const expected = 3 + 3 + 3 - 1 - 1 - 1 + 1;
    assert.equal(hypervolume([a, b, c], [0, 0, 0]), expected);
  });

  test("four overlapping boxes by inclusion–exclusion", () => {
    const singles = 3 + 3 + 3 + 8;
    // A∩B, A∩C, B∩C = [1, 1, 1]; A∩D = [2, 1, 1], B∩D = [1, 2, 1], C∩D = [1, 1, 2].
    const pairs = 1 + 1 + 1 + 2 + 2 + 2;
    // Every triple and the quadruple intersect in [1, 1, 1].
    const triples = 1 + 1 + 1 + 1;
    const quadruple = 1;
    const expected = singles - pairs + triples - quadruple;
    const reference = [-1, 0, 0.5];
    assert.equal(hypervolume(translate([a, b, c, d], reference), reference), expected);
    assert.equal(hypervolumeSlicing(translate([a, b, c, d], reference), reference), expected);
  });

  test("duplicates, dominated and outside points add nothing", () => {
    const expected = 3 + 3 + 3 + 8 - (1 + 1 + 1 + 2 + 2 + 2) + (1 + 1 + 1 + 1) - 1;
    const points = [a, b, c, d, [...d], [...a], [1, 1, 1], [2, 2, 0.5], [10, 10, 0], [10, -1, 10]];
    assert.equal(hypervolume(points, [0, 0, 0]), expected);
  });

  test("boxes sharing a z level", () => {
    // [2, 1, 1] and [1, 2, 1] enter the same slice: area 2 + 2 − 1 over height 1.
    assert.equal(
      hypervolume(
        [
          [2, 1, 1],
          [1, 2, 1],
        ],
        [0, 0, 0],
      ),
      (2 + 2 - 1) * 1,
    );
  });
});

describe("hypervolume cross-checks", () => {
  test("slicing agrees with the 1-D, 2-D and 3-D paths", () => {
    const rng = new Rng(7);
    for (const m of [1, 2, 3]) {
      for (let trial = 0; trial < 40; trial++) {
        const points = randomPoints(rng, 1 + rng.int(40), m);
        const reference = Array.from({ length: m }, () => 0.3 * rng.next() - 0.1);
        const exact = hypervolume(points, reference);
        assertClose(hypervolumeSlicing(points, reference), exact, 1e-12, `m=${m} trial ${trial}`);
      }
    }
  });

  test("slicing agrees with the m ≥ 4 path", () => {
    const rng = new Rng(11);
    for (const m of [4, 5]) {
      for (let trial = 0; trial < 10; trial++) {
        const points = randomPoints(rng, 1 + rng.int(30), m);
        const reference = new Array<number>(m).fill(0);
        assertClose(hypervolumeSlicing(points, reference), hypervolume(points, reference), 1e-12);
      }
    }
  });

  test("4-D single box and two boxes", () => {
    assert.equal(hypervolume([[1, 2, 3, 4]], [0, 0, 0, 0]), 1 * 2 * 3 * 4);
    // [2, 1, 1, 1] and [1, 2, 1, 1] intersect in the unit box.
    assert.equal(
      hypervolume(
        [
          [2, 1, 1, 1],
          [1, 2, 1, 1],
        ],
        [0, 0, 0, 0],
      ),
      2 + 2 - 1,
    );
  });

  test("4-D matches a Monte Carlo estimate", () => {
    const rng = new Rng(3);
    const m = 4;
    const points = randomPoints(rng, 30, m);
    const reference = [0, 0, 0, 0];
    const upper = Array.from({ length: m }, (_, i) => Math.max(...points.map((p) => p[i]!)));
    const boxVolume = upper.reduce((a, b) => a * b, 1);
    const samples = 100_000;
    let inside = 0;
    const sample = new Array<number>(m);
    for (let s = 0; s < samples; s++) {
      for (let i = 0; i < m; i++) sample[i] = rng.next() * upper[i]!;
      if (points.some((p) => p.every((value, i) => value >= sample[i]!))) inside++;
    }
    const share = inside / samples;
    const estimate = boxVolume * share;
    // Tolerance: four standard errors of the binomial estimate.
    const standardError = boxVolume * Math.sqrt((share * (1 - share)) / samples);
    const exact = hypervolume(points, reference);
    assert.ok(share > 0.05, `share ${share} is too small to test`);
    assert.ok(share < 0.95, `share ${share} is too large to test`);
    assert.ok(
      Math.abs(exact - estimate) <= 4 * standardError,
      `exact ${exact}, estimate ${estimate} ± ${standardError}`,
    );
    assertClose(hypervolumeSlicing(points, reference), exact);
  });

  test("4-D lattice of 286 points", () => {
    const points = simplexGrid(4, 10).map((w) => w.map((x) => Math.sqrt(x + 0.01)));
    const reference = [0, 0, 0, 0];
    assertClose(hypervolume(points, reference), hypervolumeSlicing(points, reference));
  });
});

describe("hypervolume input checks", () => {
  test("rejects an empty reference", () => {
    assert.throws(
      () => hypervolume([[1, 2]], []),
      (error: unknown) =>
        error instanceof RangeError &&
        /hypervolume: the reference point is empty; pass one coordinate per objective/.test(
          error.message,
        ),
    );
  });

  test("rejects mismatched dimensions", () => {
    assert.throws(
      () =>
        hypervolume(
          [
            [1, 2],
            [1, 2, 3],
          ],
          [0, 0],
        ),
      (error: unknown) =>
        error instanceof RangeError &&
        /hypervolume: point 1 has 3 values but 2 were expected; give every point one value per objective/.test(
          error.message,
        ),
    );
  });

  test("rejects non-finite values", () => {
    assert.throws(
      () => hypervolume([[1, Number.NaN]], [0, 0]),
      /hypervolume: point 0, objective 1 is NaN/,
    );
    assert.throws(
      () => hypervolume([[1, 2]], [0, Number.NEGATIVE_INFINITY]),
      /hypervolume: reference point, objective 1 is -Infinity; every value must be a finite number/,
    );
    assert.throws(() => hypervolumeSlicing([[Number.POSITIVE_INFINITY]], [0]), RangeError);
  });
});

describe("sharedReferencePoint", () => {
  const methodA = [
    [1, 10],
    [3, 20],
  ];
  const methodB = [[2, 15]];
  const referencePolicy = [[0, 12]];

  test("minimum minus a margin of the range", () => {
    // Objective 0 spans [0, 3] and objective 1 spans [10, 20].
    const reference = sharedReferencePoint([methodA, methodB, referencePolicy], 0.1);
    assertClose(reference[0]!, 0 - 0.1 * (3 - 0));
    assertClose(reference[1]!, 10 - 0.1 * (20 - 10));
  });

  test("default margin is 0.1 and margin 0 gives the minimum", () => {
    assert.deepEqual(
      sharedReferencePoint([methodA, methodB]),
      sharedReferencePoint([methodA, methodB], 0.1),
    );
    assert.deepEqual(sharedReferencePoint([methodA, methodB, referencePolicy], 0), [0, 10]);
  });

  test("zero range uses a range of 1", () => {
    const reference = sharedReferencePoint([[[5, 1]], [[5, 2]]], 0.25);
    assert.deepEqual(reference, [5 - 0.25, 1 - 0.25 * (2 - 1)]);
  });

  test("empty sets are skipped", () => {
    assert.deepEqual(sharedReferencePoint([[], methodA, []]), sharedReferencePoint([methodA]));
  });

  test("every set gets a positive hypervolume", () => {
    const reference = sharedReferencePoint([methodA, methodB, referencePolicy]);
    for (const set of [methodA, methodB, referencePolicy])
      assert.ok(hypervolume(set, reference) > 0);
  });

  test("rejects bad inputs", () => {
    assert.throws(
      () => sharedReferencePoint([]),
      /sharedReferencePoint: the point sets contain no point/,
    );
    assert.throws(() => sharedReferencePoint([[], []]), /the point sets contain no point/);
    assert.throws(
      () => sharedReferencePoint([methodA], -0.1),
      /margin -0.1 is invalid; pass a finite number ≥ 0/,
    );
    assert.throws(
      () => sharedReferencePoint([methodA, [[1, 2, 3]]]),
      /set 1 point 0 has 3 values but 2 were expected/,
    );
  });
});

describe("weight grids", () => {
  const objectives = ["coverage", "brevity"];

  test("lattice sizes", () => {
    assert.equal(simplexGrid(2, 10).length, 11);
    assert.equal(simplexGrid(3, 10).length, 66);
    assert.equal(simplexGrid(4, 10).length, 286);
  });

  test("lattice round-trips through CSV and JSON", () => {
    const grid = simplexGrid(3, 10);
    const names = ["a", "b", "c"];
    const csv = grid.map((row) => row.join(",")).join("\n");
    assert.deepEqual(parseWeightGrid(csv, names), grid);
    assert.deepEqual(parseWeightGrid(JSON.stringify(grid), names), grid);
  });

  test("text with header, comments and whitespace", () => {
    const text = [
      "# two objectives",
      "coverage, brevity",
      "",
      "1 0",
      "0.5,\t0.5",
      "  0 , 1  ",
      "",
    ].join("\n");
    assert.deepEqual(parseWeightGrid(text, objectives), [
      [1, 0],
      [0.5, 0.5],
      [0, 1],
    ]);
  });

  test("CRLF line endings", () => {
    assert.deepEqual(parseWeightGrid("1,0\r\n0,1\r\n", objectives), [
      [1, 0],
      [0, 1],
    ]);
  });

  test("text errors name the line", () => {
    const cases: [string, RegExp][] = [
      [
        "1,0\n\n0.5,0.6",
        /^weight grid line 3: weights \[0\.5, 0\.6\] sum to 1\.1; they must sum to 1/,
      ],
      [
        "1,0\n0.2,0.3,0.5",
        /^weight grid line 2: weights \[0\.2, 0\.3, 0\.5\] have 3 entries but the policy has 2/,
      ],
      ["# c\n0.5,abc", /^weight grid line 2: entry 1 \("abc"\) is not a number/],
      [
        "1,0\n-0.2,1.2",
        /^weight grid line 2: weights \[-0\.2, 1\.2\]: entry 0 \(coverage\) is negative/,
      ],
      ["0.5,,0.5", /^weight grid line 1: entry 1 \(""\) is not a number/],
      [
        "1,0\n0,1\n1.0,0.0",
        /^weight grid line 3 repeats the weights of line 1; remove one of them/,
      ],
      [
        "brevity,coverage\n1,0",
        /^weight grid line 1: header \(brevity, coverage\) does not match the objectives \(coverage, brevity\)/,
      ],
      [
        "0.1,0.9\n0.1000001,0.8999999",
        /^weight grid line 2 repeats the weights of line 1; remove one of them/,
      ],
      ["0.5;0.5", /^weight grid line 1: entry 0 \("0\.5;0\.5"\) is not a number/],
      ["0.5|0.5\n1,0", /^weight grid line 1: entry 0 \("0\.5\|0\.5"\) is not a number/],
      ["", /^weight grid contains no rows; write one weight vector per line, such as 1,0/],
      ["coverage,brevity\n# none", /^weight grid contains no rows/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseWeightGrid(text, objectives),
        (error: unknown) => error instanceof WeightError && message.test(error.message),
        JSON.stringify(text),
      );
    }
  });

  test("byte-order mark is ignored", () => {
    assert.deepEqual(parseWeightGrid("\uFEFF[[1, 0], [0, 1]]", objectives), [
      [1, 0],
      [0, 1],
    ]);
    assert.deepEqual(parseWeightGrid("\uFEFFcoverage,brevity\n1,0", objectives), [[1, 0]]);
  });

  test("JSON errors name the line", () => {
    const text = ["[", "  [1, 0],", "  [0.5, 0.5],", "  [0.7, 0.7]", "]"].join("\n");
    assert.throws(
      () => parseWeightGrid(text, objectives),
      /^WeightError: weight grid line 4: weights \[0\.7, 0\.7\] sum to 1\.4/,
    );
    const cases: [string, RegExp][] = [
      ['[[1, 0],\n "0.5"]', /^weight grid line 2: row 1 is "0\.5", not an array of weights/],
      ['[[1, 0],\n\n [0.5, "x"]]', /^weight grid line 3: entry 1 \("x"\) is not a number/],
      [
        "[[1, 0], [0, 1],]",
        /^weight grid: invalid JSON \(.*\); write an array of rows such as \[\[0\.2, 0\.8\], \[1, 0\]\]/,
      ],
      ["[]", /^weight grid contains no rows/],
    ];
    for (const [jsonText, message] of cases) {
      assert.throws(
        () => parseWeightGrid(jsonText, objectives),
        (error: unknown) => error instanceof WeightError && message.test(error.message),
        jsonText,
      );
    }
  });
});

describe("rankCorrelations", () => {
  test("Spearman with ties uses average ranks", () => {
    const weights = [
      [0, 1],
      [0.5, 0.5],
      [0.5, 0.5],
      [1, 0],
    ];
    const rewards = [
      [1, 4],
      [3, 3],
      [2, 2],
      [2, 1],
    ];
    // Objective 0: ranks of w0 are [1, 2.5, 2.5, 4] and of R0 [1, 4, 2.5, 2.5]. Centred at 2.5,
    // the cross product is 2.25 and both sums of squares are 4.5.
    // Objective 1: ranks of w1 are [4, 2.5, 2.5, 1] and of R1 [4, 3, 2, 1], so the correlation
    // is 4.5 / √(4.5 · 5).
    const [first, second] = rankCorrelations(weights, rewards);
    assertClose(first!, 2.25 / Math.sqrt(4.5 * 4.5));
    assertClose(second!, 4.5 / Math.sqrt(4.5 * 5));
  });

  test("perfect steering is 1 per objective", () => {
    const grid = simplexGrid(3, 4);
    const rewards = grid.map((w) => w.map((x) => Math.exp(x)));
    assert.deepEqual(rankCorrelations(grid, rewards), [1, 1, 1]);
  });

  test("constant rewards give NaN", () => {
    const grid = simplexGrid(2, 4);
    const rewards = grid.map((w) => [w[0]!, 0.5]);
    const [first, second] = rankCorrelations(grid, rewards);
    assertClose(first!, 1);
    assert.ok(Number.isNaN(second));
  });

  test("rejects mismatched shapes", () => {
    assert.throws(
      () =>
        rankCorrelations(
          [
            [1, 0],
            [0, 1],
          ],
          [[1, 0]],
        ),
      /rankCorrelations: the reward matrix has 1 rows but 2 were expected/,
    );
    assert.throws(
      () =>
        rankCorrelations(
          [
            [1, 0],
            [0, 1],
          ],
          [[1, 0], [0]],
        ),
      /reward row 1 has 1 values but 2 were expected/,
    );
    assert.throws(
      () => rankCorrelations([[1, 0]], [[1, 0]]),
      /the grid has 1 point\(s\); a correlation needs at least 2/,
    );
  });
});

describe("edgeMonotonicity", () => {
  // simplexGrid(3, 2): rows 0 (1, 0, 0), 1 (.5, .5, 0), 2 (.5, 0, .5), 3 (0, 1, 0), 4 (0, .5, .5),
  // 5 (0, 0, 1). Row 6 is an interior point that lies on no edge.
  const weights = [...simplexGrid(3, 2), [0.5, 0.25, 0.25]];
  const perfect = weights.map((w) => [...w]);

  test("edges, their rows and ordering", () => {
    const report = edgeMonotonicity(weights, perfect);
    assert.deepEqual(
      report.edges.map((edge) => [edge.i, edge.j, edge.rows]),
      [
        [0, 1, [3, 1, 0]],
        [0, 2, [5, 2, 0]],
        [1, 2, [5, 4, 3]],
      ],
    );
    assert.deepEqual(report.totals, {
      pairs: 6,
      rewardIDecreases: 0,
      rewardJIncreases: 0,
      violations: 0,
    });
  });

  test("counts a drop of i and a rise of j", () => {
    const rewards = perfect.map((row) => [...row]);
    // Edge (0, 1) in order 3, 1, 0: R0 goes 0, 1.5, 1, so it drops once.
    rewards[1]![0] = 1.5;
    // Edge (1, 2) in order 5, 4, 3: R2 goes 1, 1.2, 0, so it rises once as w1 grows.
    rewards[4]![2] = 1.2;
    // The interior row is on no edge, so its rewards do not matter.
    rewards[6] = [-5, 9, -5];
    const report = edgeMonotonicity(weights, rewards);
    const counts = report.edges.map((edge) => [
      edge.rewardIDecreases,
      edge.rewardJIncreases,
      edge.violations,
    ]);
    assert.deepEqual(counts, [
      [1, 0, 1],
      [0, 0, 0],
      [0, 1, 1],
    ]);
    assert.deepEqual(report.totals, {
      pairs: 6,
      rewardIDecreases: 1,
      rewardJIncreases: 1,
      violations: 2,
    });
  });

  test("tolerance ignores small changes", () => {
    const rewards = perfect.map((row) => [...row]);
    rewards[1]![0] = 1.5;
    rewards[4]![2] = 1.2;
    // The drop is 0.5 and the rise 0.2, so only the drop exceeds 0.3.
    const report = edgeMonotonicity(weights, rewards, { tolerance: 0.3 });
    assert.equal(report.totals.rewardIDecreases, 1);
    assert.equal(report.totals.rewardJIncreases, 0);
    assert.equal(edgeMonotonicity(weights, rewards, { tolerance: 0.6 }).totals.violations, 0);
  });

  test("two objectives in shuffled grid order", () => {
    const grid = [
      [0.5, 0.5],
      [1, 0],
      [0, 1],
      [0.25, 0.75],
      [0.75, 0.25],
    ];
    // Ordered by w0: rows 2, 3, 0, 4, 1. R0 dips at row 0 and R1 rises at row 4.
    const rewards = [
      [0.1, 0.5],
      [1, 0],
      [0, 1],
      [0.25, 0.75],
      [0.75, 0.6],
    ];
    const report = edgeMonotonicity(grid, rewards);
    assert.equal(report.edges.length, 1);
    assert.deepEqual(report.edges[0]!.rows, [2, 3, 0, 4, 1]);
    assert.equal(report.edges[0]!.rewardIDecreases, 1);
    assert.equal(report.edges[0]!.rewardJIncreases, 1);
    assert.equal(report.edges[0]!.pairs, 4);
  });

  test("rejects bad grids and options", () => {
    assert.throws(
      () => edgeMonotonicity([[0.5, 0.6]], [[1, 1]]),
      /weight row 0 \[0\.5, 0\.6\] sums to 1\.1; grid weights must sum to 1/,
    );
    assert.throws(
      () => edgeMonotonicity([[1.5, -0.5]], [[1, 1]]),
      /weight row 0 \[1\.5, -0\.5\] has a negative entry/,
    );
    assert.throws(
      () =>
        edgeMonotonicity(
          [
            [1, 0],
            [0.5, 0.5],
            [0.5, 0.5],
          ],
          [
            [1, 0],
            [1, 0],
            [1, 0],
          ],
        ),
      /weight rows 1 and 2 both have w0 = 0\.5 on the edge \(0, 1\); average repeated grid points/,
    );
    assert.throws(
      () => edgeMonotonicity(weights, perfect, { tolerance: -1 }),
      /tolerance -1 is invalid/,
    );
    assert.throws(
      () => edgeMonotonicity(weights, perfect.slice(1)),
      /the reward matrix has 6 rows but 7 were expected/,
    );
  });
});

describe("rewardRanges", () => {
  test("min, max and range per objective", () => {
    assert.deepEqual(
      rewardRanges([
        [0.5, 3],
        [0.25, 4],
        [1, 3.5],
      ]),
      [
        { min: 0.25, max: 1, range: 1 - 0.25 },
        { min: 3, max: 4, range: 4 - 3 },
      ],
    );
  });

  test("rejects empty and non-finite input", () => {
    assert.throws(() => rewardRanges([]), /rewardRanges: the reward matrix is empty/);
    assert.throws(() => rewardRanges([[1, Number.NaN]]), /reward row 0, objective 1 is NaN/);
  });
});

describe("dominanceShare", () => {
  test("shares per grid point", () => {
    const a = [
      [1, 1],
      [2, 2],
      [1, 2],
      [3, 0],
    ];
    const b = [
      [0, 1],
      [2, 2],
      [2, 1],
      [3, 1],
    ];
    // Row 0: A dominates. Row 1: equal. Row 2: incomparable. Row 3: B dominates.
    assert.deepEqual(dominanceShare(a, b), {
      aDominatesB: 1 / 4,
      bDominatesA: 1 / 4,
      gridPoints: 4,
    });
  });

  test("rejects mismatched grids", () => {
    assert.throws(
      () =>
        dominanceShare(
          [[1, 1]],
          [
            [1, 1],
            [2, 2],
          ],
        ),
      /dominanceShare: B has 2 rows but 1 were expected/,
    );
    assert.throws(() => dominanceShare([], []), /A and B are empty/);
    assert.throws(
      () => dominanceShare([[1, 1]], [[1]]),
      /row of B 0 has 1 values but 2 were expected/,
    );
  });
});

describe("pairedBootstrapHypervolume", () => {
  const shift = 0.1;
  const gridWeights = simplexGrid(2, 10).map((w) => w[0]!);
  /**
   * True mean rewards at weight w. Objective 1 peaks at 0.8 for w = 0, 0.06 above the next grid
   * point, so one grid point sets the maximum and its resampled value is nearly unbiased.
   */
  const trueMeans = (w: number): number[] => [0.2 + 0.6 * Math.sqrt(w), 0.8 - 0.6 * w];
  const reference = [0, 0];
  // Shifting every point by −shift in objective 0 removes a strip of width `shift` and height
  // max R1 − r1 from the dominated region, because all shifted points stay above the reference.
  const trueDifference = shift * (0.8 - reference[1]!);

  /** Per-prompt rewards of A: the true mean plus Gaussian noise (sd 0.2) per prompt and reward. */
  function methodA(prompts: number, seed: number): number[][][] {
    const rng = new Rng(seed);
    return gridWeights.map((w) =>
      Array.from({ length: prompts }, () => trueMeans(w).map((mean) => mean + 0.2 * rng.normal())),
    );
  }

  /** Method B: A minus `shift` in objective 0, prompt by prompt. */
  function shifted(perPrompt: number[][][]): number[][][] {
    return perPrompt.map((rows) => rows.map(([first, second]) => [first! - shift, second!]));
  }

  test("interval covers the known difference", () => {
    const a = methodA(200, 1);
    const result = pairedBootstrapHypervolume(a, shifted(a), reference, {
      resamples: 400,
      seed: 5,
    });
    assert.equal(result.resamples, 400);
    assert.equal(result.level, 0.95);
    assert.ok(result.lower <= trueDifference, `lower ${result.lower} > ${trueDifference}`);
    assert.ok(result.upper >= trueDifference, `upper ${result.upper} < ${trueDifference}`);
    assert.ok(result.lower <= result.observed);
    assert.ok(result.observed <= result.upper);
    assertClose(result.observed, result.hypervolumeA - result.hypervolumeB);
  });

  test("interval narrows with more prompts", () => {
    const few = methodA(50, 2);
    const many = methodA(800, 3);
    const options = { resamples: 300, seed: 9 };
    const wide = pairedBootstrapHypervolume(few, shifted(few), reference, options);
    const narrow = pairedBootstrapHypervolume(many, shifted(many), reference, options);
    // The width scales as 1/√prompts, so 16 times the prompts should give about a quarter.
    assert.ok(
      narrow.upper - narrow.lower < (wide.upper - wide.lower) / 2,
      `${narrow.upper - narrow.lower} vs ${wide.upper - wide.lower}`,
    );
    assert.ok(narrow.standardError < wide.standardError / 2);
  });

  test("pairing removes shared prompt noise", () => {
    const a = methodA(200, 4);
    const independent = shifted(methodA(200, 5));
    const options = { resamples: 300, seed: 1 };
    const paired = pairedBootstrapHypervolume(a, shifted(a), reference, options);
    const unpaired = pairedBootstrapHypervolume(a, independent, reference, options);
    assert.ok(paired.upper - paired.lower < (unpaired.upper - unpaired.lower) / 3);
  });

  test("percentile bounds on a discrete case", () => {
    // One objective, one grid point, two prompts with rewards 1 and 3 for A and 0.5 for B. A
    // resample's mean of A is 1, 2 or 3 with probabilities 1/4, 1/2, 1/4, so the difference is
    // 0.5, 1.5 or 2.5 with a standard deviation of √(1/4 + 1/4) = √0.5.
    const a = [[[1], [3]]];
    const b = [[[0.5], [0.5]]];
    const wide = pairedBootstrapHypervolume(a, b, [0], { resamples: 2000, seed: 3, level: 0.95 });
    assert.equal(wide.observed, 2 - 0.5);
    assert.equal(wide.lower, 0.5);
    assert.equal(wide.upper, 2.5);
    assertClose(wide.standardError, Math.sqrt(0.5), 0.05);
    // The 30% and 70% quantiles both fall in the middle half of the resamples.
    const narrow = pairedBootstrapHypervolume(a, b, [0], { resamples: 2000, seed: 3, level: 0.4 });
    assert.equal(narrow.lower, 1.5);
    assert.equal(narrow.upper, 1.5);
  });

  test("one prompt gives a zero-width interval", () => {
    const a = [[[1, 2]], [[2, 1]]];
    const b = [[[0.5, 2]], [[2, 0.5]]];
    const result = pairedBootstrapHypervolume(a, b, [0, 0], { resamples: 10 });
    assert.equal(result.lower, result.observed);
    assert.equal(result.upper, result.observed);
    assert.equal(result.standardError, 0);
  });

  test("same seed, same result", () => {
    const a = methodA(40, 6);
    const b = shifted(a);
    const first = pairedBootstrapHypervolume(a, b, reference, {
      resamples: 100,
      seed: 42,
      level: 0.9,
    });
    const second = pairedBootstrapHypervolume(a, b, reference, {
      resamples: 100,
      seed: 42,
      level: 0.9,
    });
    const other = pairedBootstrapHypervolume(a, b, reference, {
      resamples: 100,
      seed: 43,
      level: 0.9,
    });
    assert.deepEqual(first, second);
    assert.notEqual(first.lower, other.lower);
  });

  test("rejects bad shapes and options", () => {
    const a = methodA(5, 7);
    const b = shifted(a);
    const cases: [() => unknown, RegExp][] = [
      [
        () => pairedBootstrapHypervolume(a, b.slice(1), reference),
        /B has 10 rows but 11 were expected/,
      ],
      [
        () => pairedBootstrapHypervolume(a, [...b.slice(1), b[0]!.slice(1)], reference),
        /grid point 10 of B has 4 prompts but grid point 0 of A has 5/,
      ],
      [() => pairedBootstrapHypervolume([[]], [[]], reference), /grid point 0 of A has no prompts/],
      [() => pairedBootstrapHypervolume([], [], reference), /A has no grid points/],
      [
        () => pairedBootstrapHypervolume(a, b, [0, 0, 0]),
        /A grid point 0 prompt 0 has 2 values but 3 were expected/,
      ],
      [
        () => pairedBootstrapHypervolume(a, b, reference, { resamples: 1 }),
        /resamples 1 is invalid; pass an integer ≥ 2/,
      ],
      [
        () => pairedBootstrapHypervolume(a, b, reference, { level: 1 }),
        /level 1 is invalid; pass a confidence level in \(0, 1\)/,
      ],
      [
        () => pairedBootstrapHypervolume(a, b, reference, { seed: 0.5 }),
        /seed 0\.5 is invalid; pass an integer/,
      ],
      [() => pairedBootstrapHypervolume(a, b, []), /the reference point is empty/],
    ];
    for (const [run, message] of cases) {
      assert.throws(
        run,
        (error: unknown) => error instanceof RangeError && message.test(error.message),
        String(message),
      );
    }
  });
});
