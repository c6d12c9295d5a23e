// Tests of the default task's data loader, on the committed splits and on small malformed files.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { gzipSync } from "node:zlib";

import {
  DataError,
  defaultPretrainPath,
  defaultTaskPaths,
  loadPretrainCorpus,
  loadSplit,
  type SummaryExample,
} from "../src/data/dataset.js";

const SPLIT_NAMES = ["train", "validation", "test"] as const;
const FIELDS = ["package", "source", "description", "synopsis"] as const;

/** Orders strings by UTF-16 code units, the order the build script sorts packages in. */
function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

const tempDir = mkdtempSync(join(tmpdir(), "clp-data-test-"));
after(() => rmSync(tempDir, { recursive: true, force: true }));

function writeTemp(name: string, content: string | Buffer): string {
  const path = join(tempDir, name);
  writeFileSync(path, content);
  return path;
}

const validLine = JSON.stringify({
  package: "hello",
  source: "hello",
  description: "The GNU hello program produces a familiar, friendly greeting.",
  synopsis: "example package based on GNU hello",
});

describe("committed splits", () => {
  const paths = defaultTaskPaths();
  const splits = Object.fromEntries(
    SPLIT_NAMES.map((name) => [name, loadSplit(paths[name])]),
  ) as Record<(typeof SPLIT_NAMES)[number], SummaryExample[]>;

  test("split sizes are non-trivial", () => {
    assert.ok(splits.train.length > 10_000, `train has ${splits.train.length} examples`);
    assert.ok(
      splits.validation.length > 500,
      `validation has ${splits.validation.length} examples`,
    );
    assert.ok(splits.test.length > 500, `test has ${splits.test.length} examples`);
    assert.ok(
      splits.train.length > 5 * splits.test.length,
      "train should be about 90 % of the pairs",
    );
  });

  test("no source package crosses splits", () => {
    const owner = new Map<string, string>();
    for (const name of SPLIT_NAMES) {
      for (const example of splits[name]) {
        const previous = owner.get(example.source);
        if (previous !== undefined && previous !== name) {
          assert.fail(`source ${example.source} is in ${previous} and ${name}`);
        }
        owner.set(example.source, name);
      }
    }
  });

  test("no package occurs twice", () => {
    const packages = SPLIT_NAMES.flatMap((name) => splits[name].map((e) => e.package));
    assert.equal(new Set(packages).size, packages.length);
  });

  test("fields are non-empty strings", () => {
    for (const name of SPLIT_NAMES) {
      for (const example of splits[name]) {
        for (const field of FIELDS) {
          assert.equal(typeof example[field], "string", `${name} ${example.package} ${field}`);
          assert.notEqual(
            example[field].trim(),
            "",
            `${name} ${example.package} has an empty ${field}`,
          );
        }
      }
    }
  });

  test("synopses are single lines", () => {
    for (const name of SPLIT_NAMES) {
      for (const example of splits[name]) {
        assert.ok(
          !example.synopsis.includes("\n"),
          `${name} ${example.package} synopsis has a newline`,
        );
      }
    }
  });

  test("lines are sorted by package", () => {
    for (const name of SPLIT_NAMES) {
      const packages = splits[name].map((e) => e.package);
      const sorted = [...packages].sort(compareCodeUnits);
      assert.deepEqual(packages, sorted, `${name} is not sorted by package`);
    }
  });

  test("limit reads the first examples", () => {
    const firstThree = loadSplit(paths.validation, { limit: 3 });
    assert.deepEqual(firstThree, splits.validation.slice(0, 3));
    assert.deepEqual(loadSplit(paths.validation, { limit: 0 }), []);
  });

  test("pretraining corpus has no held-out description", () => {
    const documents = loadPretrainCorpus(defaultPretrainPath());
    assert.ok(documents.length > 10_000, `corpus has ${documents.length} documents`);
    const corpus = new Set(documents);
    for (const name of ["validation", "test"] as const) {
      for (const example of splits[name]) {
        assert.ok(
          !corpus.has(example.description),
          `${name} description of ${example.package} is in the corpus`,
        );
      }
    }
  });
});

describe("loadSplit on malformed files", () => {
  const cases: Array<{ name: string; line: string; message: RegExp }> = [
    { name: "invalid JSON", line: "{not json", message: /invalid JSON/ },
    { name: "array line", line: "[1, 2]", message: /expected a JSON object, got an array/ },
    {
      name: "missing field",
      line: JSON.stringify({ package: "a", source: "a", description: "text" }),
      message: /field "synopsis" is missing/,
    },
    {
      name: "wrong type",
      line: JSON.stringify({ package: "a", source: "a", description: 7, synopsis: "s" }),
      message: /field "description" must be a string, got a number/,
    },
    {
      name: "empty string",
      line: JSON.stringify({ package: "a", source: "", description: "text", synopsis: "s" }),
      message: /field "source" is empty/,
    },
    { name: "blank line", line: "   ", message: /line is blank/ },
  ];

  for (const { name, line, message } of cases) {
    test(`${name} names file and line`, () => {
      const content = `${validLine}\n${validLine}\n${line}\n${validLine}\n`;
      const path = writeTemp(`${name.replace(/ /g, "-")}.jsonl`, content);
      assert.throws(
        () => loadSplit(path),
        (error: unknown) => {
          assert.ok(error instanceof DataError, "expected a DataError");
          assert.ok(error.message.startsWith(`${path} line 3: `), error.message);
          assert.match(error.message, message);
          assert.match(error.message, /string fields package, source, description, synopsis/);
          return true;
        },
      );
    });
  }

  test("gzipped file reports line number", () => {
    const content = `${validLine}\n{"package": "b"}\n`;
    const path = writeTemp("bad.jsonl.gz", gzipSync(Buffer.from(content, "utf8")));
    assert.throws(
      () => loadSplit(path),
      (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.ok(
          error.message.startsWith(`${path} line 2: field "source" is missing`),
          error.message,
        );
        return true;
      },
    );
  });

  test("limit stops before a bad line", () => {
    const path = writeTemp("limit.jsonl", `${validLine}\n{broken\n`);
    assert.equal(loadSplit(path, { limit: 1 }).length, 1);
    assert.throws(() => loadSplit(path), DataError);
  });

  test("invalid limit is rejected", () => {
    const path = writeTemp("valid.jsonl", `${validLine}\n`);
    assert.throws(() => loadSplit(path, { limit: -1 }), RangeError);
    assert.throws(() => loadSplit(path, { limit: 1.5 }), RangeError);
  });

  test("valid plain file loads", () => {
    const path = writeTemp("plain.jsonl", `${validLine}\n${validLine}`);
    const examples = loadSplit(path);
    assert.equal(examples.length, 2);
    assert.equal(examples[0]?.synopsis, "example package based on GNU hello");
  });
});

describe("missing files", () => {
  test("missing split names path and build command", () => {
    const path = join(tempDir, "absent", "train.jsonl.gz");
    assert.throws(
      () => loadSplit(path),
      (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.ok(error.message.includes(path), error.message);
        assert.match(error.message, /not found/);
        assert.match(error.message, /node dist\/scripts\/build-data\.js/);
        return true;
      },
    );
  });

  test("missing corpus names path", () => {
    const path = join(tempDir, "absent.txt.gz");
    assert.throws(
      () => loadPretrainCorpus(path),
      (error: unknown) => {
        assert.ok(error instanceof DataError);
        assert.ok(error.message.includes(path), error.message);
        return true;
      },
    );
  });

  test("default paths ignore working directory", () => {
    const before = defaultTaskPaths();
    const cwd = process.cwd();
    process.chdir(tempDir);
    try {
      assert.deepEqual(defaultTaskPaths(), before);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("loadPretrainCorpus", () => {
  test("splits on separator lines", () => {
    const path = writeTemp(
      "corpus.txt",
      "first doc\n\nsecond paragraph\n<|endoftext|>\nsecond doc\n<|endoftext|>\n",
    );
    assert.deepEqual(loadPretrainCorpus(path), ["first doc\n\nsecond paragraph", "second doc"]);
  });

  test("reads gzip and trailing document", () => {
    const path = writeTemp("corpus.txt.gz", gzipSync(Buffer.from("a\n<|endoftext|>\nb", "utf8")));
    assert.deepEqual(loadPretrainCorpus(path), ["a", "b"]);
  });

  test("separator inside a line is text", () => {
    const path = writeTemp("inline.txt", "x <|endoftext|> y\n<|endoftext|>\n");
    assert.deepEqual(loadPretrainCorpus(path), ["x <|endoftext|> y"]);
  });

  test("empty corpus is rejected", () => {
    const path = writeTemp("empty.txt", "\n");
    assert.throws(() => loadPretrainCorpus(path), DataError);
  });
});
