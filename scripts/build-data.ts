// Builds the default task's data from Debian's package index. The task pairs the long
// descriptions of bookworm main packages with their one-line synopses, in train, validation and
// test JSONL files split by source package. A pretraining corpus of descriptions leaves out the
// validation and test texts, and each output gets a data card. After `npx tsc -p tsconfig.json`,
// `node dist/scripts/build-data.js --help` lists the options.

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";

import { DOCUMENT_SEPARATOR, type SummaryExample } from "../src/data/dataset.js";

// The only suite, component and architecture this script reads. The architecture is pinned so
// the binary-to-source mapping, and with it the output, is the same on every machine.
const SUITE = "bookworm";
const COMPONENT = "main";
const ARCHITECTURE = "amd64";

const MIN_DESCRIPTION_WORDS = 25;
const MAX_DESCRIPTION_WORDS = 400;

const SPLITS = ["train", "validation", "test"] as const;
type Split = (typeof SPLITS)[number];

const USAGE = `Usage: node dist/scripts/build-data.js [options]

Builds data/debian-synopses/{train,validation,test}.jsonl.gz, data/pretrain/descriptions.txt.gz
and their data cards from Debian ${SUITE} ${COMPONENT}.

Without --lists or --translation, runs apt-get update into a private lists folder
(.cache/debian-lists under the package root) and leaves the system's lists untouched.
Needs Debian's apt with a sources list that includes ${SUITE} ${COMPONENT}; root is not needed.

Options:
  --lists DIR          read the index from an apt lists folder fetched before; no download
  --translation FILE   ${COMPONENT}/i18n/Translation-en (plain, gz, lz4, xz, zst or bz2), with
                       --packages
  --packages FILE      ${COMPONENT}/binary-${ARCHITECTURE}/Packages of the same suite (same formats)
  --release FILE       the suite's InRelease or Release file, for the data card (optional
                       with --translation)
  --out DIR            output folder of the summary splits (default data/debian-synopses)
  --pretrain-out DIR   output folder of the pretraining corpus (default data/pretrain)
  -h, --help           print this help
Relative default folders are under the package root; relative paths given on the command line
are under the current directory.`;

class UsageError extends Error {}

interface Options {
  lists: string | undefined;
  translation: string | undefined;
  packages: string | undefined;
  release: string | undefined;
  out: string;
  pretrainOut: string;
}

interface IndexFiles {
  translation: string;
  packages: string;
  release: string | undefined;
}

/** One package entry of Translation-en. */
interface Translation {
  package: string;
  md5: string;
  synopsis: string;
  description: string;
}

/** One binary package with its source package, from the Packages index. */
interface BinaryEntry {
  source: string;
  descriptionMd5: string | undefined;
}

/** A package's description and synopsis, in the loader's record format. */
type Pair = SummaryExample;

interface FilterCount {
  name: string;
  rule: string;
  dropped: number;
}

interface ReleaseInfo {
  fields: Map<string, string>;
  sha256: Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Command line and index files

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function parseOptions(argv: string[], root: string): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      lists: { type: "string" },
      translation: { type: "string" },
      packages: { type: "string" },
      release: { type: "string" },
      out: { type: "string" },
      "pretrain-out": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  if ((values.translation === undefined) !== (values.packages === undefined)) {
    throw new UsageError("--translation and --packages must be given together");
  }
  if (values.translation !== undefined && values.lists !== undefined) {
    throw new UsageError("give either --lists or --translation/--packages, not both");
  }
  const fromCwd = (path: string | undefined) => (path === undefined ? undefined : resolve(path));
  return {
    lists: fromCwd(values.lists),
    translation: fromCwd(values.translation),
    packages: fromCwd(values.packages),
    release: fromCwd(values.release),
    out: values.out === undefined ? join(root, "data/debian-synopses") : resolve(values.out),
    pretrainOut:
      values["pretrain-out"] === undefined
        ? join(root, "data/pretrain")
        : resolve(values["pretrain-out"]),
  };
}

/**
 * Runs apt-get update into `listsDir`. The options keep apt away from the system's state:
 * Dir::State::Lists redirects the downloaded indexes, List-Cleanup=0 stops apt from deleting
 * files there that the sources list does not name, and the empty pkgcache options stop it from
 * rewriting /var/cache/apt/*.bin. Acquire::Languages=en fetches Translation-en, which Debian
 * images often disable.
 */
function fetchLists(listsDir: string): void {
  mkdirSync(join(listsDir, "partial"), { recursive: true });
  const aptOptions = [
    `Dir::State::Lists=${listsDir}`,
    "Acquire::Languages=en",
    "APT::Get::List-Cleanup=0",
    "Dir::Cache::pkgcache=",
    "Dir::Cache::srcpkgcache=",
    `APT::Architecture=${ARCHITECTURE}`,
    `APT::Architectures=${ARCHITECTURE}`,
  ];
  const args = [...aptOptions.flatMap((option) => ["-o", option]), "update"];
  log(`apt-get ${args.join(" ")}`);
  try {
    execFileSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"] });
  } catch (error) {
    throw new Error(
      `apt-get update into ${listsDir} failed (${(error as Error).message.split("\n")[0]}). ` +
        "It needs Debian's apt and network access to the archive. Without them, pass index " +
        "files fetched elsewhere with --translation FILE --packages FILE.",
    );
  }
}

/** Finds the one list file whose name matches `pattern`, or returns undefined when none does. */
function findListFile(listsDir: string, pattern: RegExp, indexName: string): string | undefined {
  const matches = readdirSync(listsDir)
    .filter((name) => pattern.test(name))
    .sort();
  if (matches.length > 1) {
    throw new Error(
      `${listsDir} has ${matches.length} ${indexName} files (${matches.join(", ")}). ` +
        "Pass the one to use with --translation FILE --packages FILE.",
    );
  }
  return matches[0] === undefined ? undefined : join(listsDir, matches[0]);
}

function locateIndexFiles(listsDir: string): IndexFiles {
  if (!existsSync(listsDir)) {
    throw new Error(`lists folder not found: ${listsDir}. Run without --lists to fetch it.`);
  }
  const compressed = "(\\.(lz4|gz|xz|zst|bz2))?$";
  const translation = findListFile(
    listsDir,
    new RegExp(`_dists_${SUITE}_${COMPONENT}_i18n_Translation-en${compressed}`),
    "Translation-en",
  );
  const packages = findListFile(
    listsDir,
    new RegExp(`_dists_${SUITE}_${COMPONENT}_binary-${ARCHITECTURE}_Packages${compressed}`),
    "Packages",
  );
  if (translation === undefined || packages === undefined) {
    throw new Error(
      `no ${SUITE} ${COMPONENT} ${translation === undefined ? "Translation-en" : "Packages"} ` +
        `index in ${listsDir}. The machine's apt sources may not list ${SUITE} ${COMPONENT}; ` +
        "pass the index files with --translation FILE --packages FILE.",
    );
  }
  const release =
    findListFile(listsDir, new RegExp(`_dists_${SUITE}_InRelease$`), "InRelease") ??
    findListFile(listsDir, new RegExp(`_dists_${SUITE}_Release$`), "Release");
  return { translation, packages, release };
}

const COMPRESSIONS = [
  { magic: [0x04, 0x22, 0x4d, 0x18], extension: ".lz4", tool: "lz4" },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], extension: ".xz", tool: "xz" },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], extension: ".zst", tool: "zstd" },
  { magic: [0x42, 0x5a, 0x68], extension: ".bz2", tool: "bzip2" },
];

/**
 * Reads an index file as text, decompressing it by its magic bytes. Gzip is read with zlib.
 * Other formats go through apt-helper cat-file, which picks the decompressor by the file
 * extension, or through the format's own command-line tool when the extension does not match.
 */
function readIndexText(path: string): Buffer {
  const data = readFileSync(path);
  if (data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data);
  const format = COMPRESSIONS.find((c) => c.magic.every((byte, i) => data[i] === byte));
  if (format === undefined) return data;
  const maxBuffer = 1 << 30;
  if (path.endsWith(format.extension) && existsSync("/usr/lib/apt/apt-helper")) {
    return execFileSync("/usr/lib/apt/apt-helper", ["cat-file", path], { maxBuffer });
  }
  try {
    return execFileSync(format.tool, ["-dc", path], { maxBuffer });
  } catch (error) {
    throw new Error(
      `failed to decompress ${path} (${format.extension.slice(1)}) with ${format.tool}: ` +
        `${(error as Error).message.split("\n")[0]}. ` +
        `Install ${format.tool} or pass the file decompressed.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Debian control-file parsing

/** Splits a deb822 file (Packages, Translation-en) into its paragraphs' lines. */
function* paragraphs(text: string): Generator<string[]> {
  let lines: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (lines.length > 0) yield lines;
      lines = [];
    } else {
      lines.push(line);
    }
  }
  if (lines.length > 0) yield lines;
}

/** Returns the value of the single-line field `name` in a paragraph, trimmed. */
function fieldValue(lines: string[], name: string): string | undefined {
  const prefix = `${name}:`;
  const line = lines.find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : line.slice(prefix.length).trim();
}

/**
 * Maps each binary package to its source package. A missing Source field means the source has
 * the package's name, and a `Source: name (version)` loses its version.
 */
function parsePackages(text: string): Map<string, BinaryEntry> {
  const binaries = new Map<string, BinaryEntry>();
  for (const lines of paragraphs(text)) {
    const name = fieldValue(lines, "Package");
    if (name === undefined) continue;
    const sourceField = fieldValue(lines, "Source");
    const source = sourceField === undefined ? name : sourceField.replace(/\s*\(.*\)$/, "");
    // NOTE: a package listed twice (two versions) keeps its first entry.
    if (!binaries.has(name)) {
      binaries.set(name, { source, descriptionMd5: fieldValue(lines, "Description-md5") });
    }
  }
  return binaries;
}

/**
 * Converts the continuation lines of an extended description to plain text. Each line starts
 * with one space, and ` .` separates paragraphs. A line with two or more leading spaces (or a
 * tab) is verbatim, such as a list item. Paragraphs are joined by a blank line and consecutive
 * normal lines by one space. Verbatim lines keep their own line and their indentation beyond
 * the first space.
 */
function convertLongDescription(continuationLines: string[]): string {
  const paragraphTexts: string[] = [];
  let outputLines: string[] = [];
  let flowing: string[] = [];
  const flushFlowing = () => {
    if (flowing.length > 0) outputLines.push(flowing.join(" "));
    flowing = [];
  };
  const flushParagraph = () => {
    flushFlowing();
    if (outputLines.length > 0) paragraphTexts.push(outputLines.join("\n"));
    outputLines = [];
  };
  for (const raw of continuationLines) {
    const line = raw.slice(1).trimEnd();
    if (line === ".") {
      flushParagraph();
    } else if (/^[ \t]/.test(line)) {
      flushFlowing();
      outputLines.push(line);
    } else if (line !== "") {
      flowing.push(line);
    }
  }
  flushParagraph();
  return paragraphTexts.join("\n\n");
}

function parseTranslations(text: string): Translation[] {
  const entries: Translation[] = [];
  for (const lines of paragraphs(text)) {
    const name = fieldValue(lines, "Package");
    const start = lines.findIndex((l) => l.startsWith("Description-en:"));
    if (name === undefined || start < 0) continue;
    const header = lines[start] ?? "";
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => !/^[ \t]/.test(l));
    const continuation = end < 0 ? rest : rest.slice(0, end);
    entries.push({
      package: name,
      md5: fieldValue(lines, "Description-md5") ?? "",
      synopsis: header.slice("Description-en:".length).trim(),
      description: convertLongDescription(continuation),
    });
  }
  return entries;
}

function parseRelease(text: string): ReleaseInfo {
  const fields = new Map<string, string>();
  const sha256 = new Map<string, string>();
  let section = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("-----BEGIN PGP SIGNATURE")) break;
    const field = /^([\w-]+):\s*(.*)$/.exec(line);
    if (field) {
      section = field[1] ?? "";
      if (field[2] !== "") fields.set(section, field[2] ?? "");
    } else if (section === "SHA256" && line.startsWith(" ")) {
      const [hash, , path] = line.trim().split(/\s+/);
      if (hash !== undefined && path !== undefined) sha256.set(path, hash);
    }
  }
  return { fields, sha256 };
}

// ---------------------------------------------------------------------------------------------
// Filters, deduplication and splits

/**
 * Drop rules on the binary package name, checked in order; the first match counts the drop.
 * Ecosystem and family prefixes come before the suffix rules so that, for example, a
 * librust-*-dev package counts as a Rust crate rather than as a -dev package.
 */
const NAME_RULES: Array<{ name: string; pattern: RegExp }> = [
  { name: "Go library (golang-*)", pattern: /^golang-/ },
  { name: "Rust crate (librust-*)", pattern: /^librust-/ },
  { name: "Node.js module (node-*)", pattern: /^node-/ },
  { name: "R CRAN package (r-cran-*)", pattern: /^r-cran-/ },
  { name: "R Bioconductor package (r-bioc-*)", pattern: /^r-bioc-/ },
  { name: "Haskell library (libghc-*)", pattern: /^libghc-/ },
  { name: "Ruby library (ruby-*)", pattern: /^ruby-/ },
  { name: "PHP library (php-*)", pattern: /^php-/ },
  { name: "JavaScript library (libjs-*)", pattern: /^libjs-/ },
  { name: "font (fonts-*)", pattern: /^fonts-/ },
  { name: "TeX Live (texlive-*)", pattern: /^texlive-/ },
  { name: "Hunspell dictionary (hunspell-*)", pattern: /^hunspell-/ },
  { name: "MySpell dictionary (myspell-*)", pattern: /^myspell-/ },
  { name: "Aspell dictionary (aspell-*)", pattern: /^aspell-/ },
  { name: "thesaurus (mythes-*)", pattern: /^mythes-/ },
  { name: "hyphenation patterns (hyphen-*)", pattern: /^hyphen-/ },
  { name: "localization (*-l10n, *-l10n-*)", pattern: /-l10n(-|$)/ },
  {
    name: "kernel image or headers (linux-image*, linux-headers*)",
    pattern: /^linux-(image|headers)/,
  },
  { name: "firmware (firmware-*)", pattern: /^firmware-/ },
  {
    name: "library variant (lib*-dev/doc/dbg/java/perl/ocaml)",
    pattern: /^lib.+-(dev|doc|dbg|java|perl|ocaml)$/,
  },
  { name: "development package (*-dev)", pattern: /-dev$/ },
  { name: "documentation package (*-doc)", pattern: /-doc$/ },
  { name: "debug symbols (*-dbg)", pattern: /-dbg$/ },
  { name: "data package (*-data)", pattern: /-data$/ },
  { name: "common files (*-common)", pattern: /-common$/ },
];

const TRANSITIONAL = /transitional|dummy package/i;

// Sentences of split-out development, debug and documentation packages. The lookahead keeps
// real packages such as "This package provides development tools".
const BOILERPLATE = new RegExp(
  "\\bthis package (?:contains|provides|includes|ships) (?:the |all the |all )?(?:[\\w.+-]+ ){0,2}?" +
    "(?:development|debugging|debug|header|headers|documentation)\\b" +
    "(?! (?:tools?|environments?|programs?|kit)\\b)",
  "i",
);

/** Splits a text into whitespace-separated words. */
function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== "");
}

/** Compares strings by UTF-16 code units, so the order does not depend on the locale. */
function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

/**
 * Assigns a source package to a split by the first 32 bits of the SHA-256 of its name: the
 * lowest 90 % of the range go to train, the next 5 % to validation, the rest to test.
 */
function splitOf(source: string): Split {
  const digest = createHash("sha256").update(source, "utf8").digest();
  const fraction = digest.readUInt32BE(0) / 2 ** 32;
  if (fraction < 0.9) return "train";
  if (fraction < 0.95) return "validation";
  return "test";
}

/**
 * Resolves Translation-en entries to one per package with its source. A package translated
 * twice keeps the entry whose Description-md5 matches the Packages index, else the first one.
 * Packages missing from the binary index have no known source and are returned separately.
 */
function attachSources(
  translations: Translation[],
  binaries: Map<string, BinaryEntry>,
): { pairs: Pair[]; unknownSource: number; duplicateEntries: number } {
  const chosen = new Map<string, Translation>();
  let duplicateEntries = 0;
  for (const entry of translations) {
    const previous = chosen.get(entry.package);
    if (previous === undefined) {
      chosen.set(entry.package, entry);
      continue;
    }
    duplicateEntries += 1;
    const indexMd5 = binaries.get(entry.package)?.descriptionMd5;
    if (previous.md5 !== indexMd5 && entry.md5 === indexMd5) chosen.set(entry.package, entry);
  }
  const pairs: Pair[] = [];
  let unknownSource = 0;
  for (const entry of chosen.values()) {
    const binary = binaries.get(entry.package);
    if (binary === undefined) {
      unknownSource += 1;
      continue;
    }
    pairs.push({
      package: entry.package,
      source: binary.source,
      description: entry.description,
      synopsis: entry.synopsis,
    });
  }
  pairs.sort((a, b) => compareCodeUnits(a.package, b.package));
  return { pairs, unknownSource, duplicateEntries };
}

/** Applies the drop rules in order, counting each rule's drops. Input must be sorted by package. */
function filterPairs(all: Pair[]): { kept: Pair[]; counts: FilterCount[] } {
  const counts: FilterCount[] = NAME_RULES.map((r) => ({
    name: r.name,
    rule: `package name matches ${r.pattern}`,
    dropped: 0,
  }));
  const transitional: FilterCount = {
    name: "transitional or dummy package",
    rule: `synopsis matches ${TRANSITIONAL} or description matches /(transitional|dummy) package/i`,
    dropped: 0,
  };
  const boilerplate: FilterCount = {
    name: "development, debug or documentation boilerplate",
    rule: `description matches ${BOILERPLATE}`,
    dropped: 0,
  };
  const emptySynopsis: FilterCount = {
    name: "empty synopsis",
    rule: "synopsis is empty",
    dropped: 0,
  };
  const tooShort: FilterCount = {
    name: `description under ${MIN_DESCRIPTION_WORDS} words`,
    rule: `fewer than ${MIN_DESCRIPTION_WORDS} whitespace-separated words`,
    dropped: 0,
  };
  const tooLong: FilterCount = {
    name: `description over ${MAX_DESCRIPTION_WORDS} words`,
    rule: `more than ${MAX_DESCRIPTION_WORDS} whitespace-separated words`,
    dropped: 0,
  };
  const duplicateText: FilterCount = {
    name: "duplicate description",
    rule: "same description text as a kept package earlier in name order",
    dropped: 0,
  };
  const duplicateSynopsis: FilterCount = {
    name: "duplicate synopsis",
    rule: "same lowercased synopsis as a kept package earlier in name order",
    dropped: 0,
  };

  const kept: Pair[] = [];
  const seenTexts = new Set<string>();
  const seenSynopses = new Set<string>();
  for (const pair of all) {
    const ruleIndex = NAME_RULES.findIndex((r) => r.pattern.test(pair.package));
    const flatText = pair.description.replace(/\s+/g, " ");
    const wordCount = words(pair.description).length;
    let drop: FilterCount | undefined;
    if (ruleIndex >= 0) drop = counts[ruleIndex];
    else if (TRANSITIONAL.test(pair.synopsis) || /(transitional|dummy) package/i.test(flatText))
      drop = transitional;
    else if (BOILERPLATE.test(flatText)) drop = boilerplate;
    else if (pair.synopsis === "") drop = emptySynopsis;
    else if (wordCount < MIN_DESCRIPTION_WORDS) drop = tooShort;
    else if (wordCount > MAX_DESCRIPTION_WORDS) drop = tooLong;
    else if (seenTexts.has(pair.description)) drop = duplicateText;
    else if (seenSynopses.has(pair.synopsis.toLowerCase())) drop = duplicateSynopsis;
    if (drop !== undefined) {
      drop.dropped += 1;
      continue;
    }
    seenTexts.add(pair.description);
    seenSynopses.add(pair.synopsis.toLowerCase());
    kept.push(pair);
  }
  counts.push(
    transitional,
    boilerplate,
    emptySynopsis,
    tooShort,
    tooLong,
    duplicateText,
    duplicateSynopsis,
  );
  return { kept, counts };
}

interface PretrainCorpus {
  documents: string[];
  emptyDropped: number;
  heldOutDropped: number;
  sharedParagraphDropped: number;
  duplicateDropped: number;
  separatorDropped: number;
}

/**
 * Minimum words of a held-out paragraph that excludes every corpus document containing it.
 * Shorter paragraphs ("This package contains the library.") are too common to exclude on.
 */
const SHARED_PARAGRAPH_MIN_WORDS = 12;

/**
 * Collects the descriptions of every package with a known source, unfiltered, for pretraining.
 * A text is left out when a package whose source is assigned to validation or test has the same
 * text, or when it shares a paragraph of at least SHARED_PARAGRAPH_MIN_WORDS words with a
 * validation or test pair. So no evaluation description reaches the corpus through a package
 * of another source.
 */
function buildPretrainCorpus(all: Pair[], heldOutPairs: Pair[]): PretrainCorpus {
  const heldOutTexts = new Set(
    all.filter((p) => splitOf(p.source) !== "train").map((p) => p.description),
  );
  const heldOutParagraphs = new Set(
    heldOutPairs
      .flatMap((p) => p.description.split("\n\n"))
      .filter((paragraph) => words(paragraph).length >= SHARED_PARAGRAPH_MIN_WORDS),
  );
  const seen = new Set<string>();
  const corpus: PretrainCorpus = {
    documents: [],
    emptyDropped: 0,
    heldOutDropped: 0,
    sharedParagraphDropped: 0,
    duplicateDropped: 0,
    separatorDropped: 0,
  };
  for (const pair of all) {
    const text = pair.description;
    if (text === "") corpus.emptyDropped += 1;
    else if (heldOutTexts.has(text)) corpus.heldOutDropped += 1;
    else if (text.split("\n\n").some((paragraph) => heldOutParagraphs.has(paragraph)))
      corpus.sharedParagraphDropped += 1;
    else if (seen.has(text)) corpus.duplicateDropped += 1;
    else if (text.split("\n").includes(DOCUMENT_SEPARATOR)) corpus.separatorDropped += 1;
    else {
      seen.add(text);
      corpus.documents.push(text);
    }
  }
  return corpus;
}

// ---------------------------------------------------------------------------------------------
// Output

/**
 * Gzips with the header's modification time set to zero and its OS byte set to Unix, so equal
 * input gives equal files. The deflate stream itself comes from Node's bundled zlib.
 */
function gzipFixed(data: Buffer): Buffer {
  const compressed = gzipSync(data, { level: 9 });
  compressed.writeUInt32LE(0, 4);
  compressed[9] = 3;
  return compressed;
}

function writeJsonl(path: string, pairs: Pair[]): number {
  const lines = pairs.map((p) =>
    JSON.stringify({
      package: p.package,
      source: p.source,
      description: p.description,
      synopsis: p.synopsis,
    }),
  );
  const compressed = gzipFixed(Buffer.from(lines.map((l) => `${l}\n`).join(""), "utf8"));
  writeFileSync(path, compressed);
  return compressed.length;
}

interface LengthStats {
  mean: number;
  p50: number;
  p90: number;
  max: number;
}

/** Computes mean, nearest-rank percentiles and max of non-empty `values`. */
function lengthStats(values: number[]): LengthStats {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return { mean, p50: rank(0.5), p90: rank(0.9), max: sorted[sorted.length - 1] ?? 0 };
}

/** Splits a text into lowercased runs of letters and digits, for the word overlap statistic. */
function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function synopsisOverlap(pairs: Pair[]): { tokenShare: number; allCovered: number } {
  let found = 0;
  let total = 0;
  let allCovered = 0;
  for (const pair of pairs) {
    const vocabulary = new Set(tokens(pair.description));
    const synopsisTokens = tokens(pair.synopsis);
    const hits = synopsisTokens.filter((t) => vocabulary.has(t)).length;
    found += hits;
    total += synopsisTokens.length;
    if (hits === synopsisTokens.length) allCovered += 1;
  }
  return {
    tokenShare: found / Math.max(1, total),
    allCovered: allCovered / Math.max(1, pairs.length),
  };
}

function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Selects the pairs of up to 80 words with the lowest SHA-256 of the package name. */
function samplePairs(pairs: Pair[], count: number): Pair[] {
  return pairs
    .filter((p) => words(p.description).length <= 80)
    .map((p) => ({ pair: p, key: sha256Hex(Buffer.from(p.package, "utf8")) }))
    .sort((a, b) => compareCodeUnits(a.key, b.key))
    .slice(0, count)
    .map((entry) => entry.pair);
}

interface IndexProvenance {
  command: string;
  release: ReleaseInfo | undefined;
  translationFile: string;
  translationSha256: string;
  packagesFile: string;
  packagesSha256: string;
}

const CARD_WIDTH = 100;

/** Joins `sentences` into one Markdown paragraph wrapped at CARD_WIDTH columns. */
function wrap(...sentences: string[]): string {
  const lines: string[] = [];
  let line = "";
  for (const word of words(sentences.join(" "))) {
    if (line !== "" && line.length + 1 + word.length > CARD_WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines.join("\n");
}

/** Formats a number with comma thousands separators and `digits` decimals, without ICU. */
function formatNumber(value: number, digits = 0): string {
  const [whole = "", fraction] = value.toFixed(digits).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

function provenanceLines(p: IndexProvenance): string[] {
  const field = (name: string) => p.release?.fields.get(name) ?? "unknown (no Release file given)";
  const checksum = (path: string, actual: string) => {
    const expected = p.release?.sha256.get(path);
    if (expected === undefined) return `\`${actual}\``;
    if (expected === actual) return `\`${actual}\` (matches the Release file)`;
    return `\`${actual}\` (the Release file lists \`${expected}\`)`;
  };
  const translationPath = `${COMPONENT}/i18n/Translation-en`;
  const packagesPath = `${COMPONENT}/binary-${ARCHITECTURE}/Packages`;
  return [
    `- Archive: Debian ${field("Codename")} (${field("Suite")}, version ${field("Version")}), ` +
      `component ${COMPONENT}, architecture ${ARCHITECTURE}.`,
    `- Release file date: ${field("Date")}.`,
    `- Translation-en: \`${basename(p.translationFile)}\`, SHA-256 of the decompressed file`,
    `  ${checksum(translationPath, p.translationSha256)}.`,
    `- Packages: \`${basename(p.packagesFile)}\`, SHA-256 of the decompressed file`,
    `  ${checksum(packagesPath, p.packagesSha256)}.`,
  ];
}

function statsRow(label: string, stats: LengthStats): string {
  const mean = formatNumber(stats.mean, 1);
  return `| ${label} | ${mean} | ${stats.p50} | ${stats.p90} | ${stats.max} |`;
}

function indentBlock(text: string): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? "" : `    ${line}`))
    .join("\n");
}

/** Returns the licence section's text for data made of `items`, such as "Each description". */
function licence(items: string): string {
  return wrap(
    `${items} is part of its package's metadata and is distributed under that package's free`,
    "licence in Debian's archive. This compilation is redistributed for research, with",
    "attribution to the Debian project and the maintainers of each package.",
  );
}

interface SummaryCardInput {
  provenance: IndexProvenance;
  totalEntries: number;
  duplicateEntries: number;
  unknownSource: number;
  withSource: number;
  counts: FilterCount[];
  splits: Record<Split, Pair[]>;
  fileSizes: Record<Split, number>;
}

function rebuildSection(command: string): string[] {
  return [
    "## Rebuild",
    "",
    "```",
    "npx tsc -p tsconfig.json",
    command,
    "```",
    "",
    wrap(
      "Without options the script fetches Debian's index into the private folder",
      "`.cache/debian-lists` under the package root, leaving the system's apt lists and caches",
      "untouched:",
    ),
    "",
    "```",
    "mkdir -p .cache/debian-lists/partial",
    "apt-get -o Dir::State::Lists=$PWD/.cache/debian-lists -o Acquire::Languages=en \\",
    "  -o APT::Get::List-Cleanup=0 -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \\",
    `  -o APT::Architecture=${ARCHITECTURE} -o APT::Architectures=${ARCHITECTURE} update`,
    "```",
    "",
    wrap(
      `It then reads \`…_dists_${SUITE}_${COMPONENT}_i18n_Translation-en.lz4\` and`,
      `\`…_dists_${SUITE}_${COMPONENT}_binary-${ARCHITECTURE}_Packages.lz4\` from that folder.`,
      `This needs a Debian machine whose apt sources list ${SUITE} ${COMPONENT} (root is not`,
      "needed). `--lists DIR` reuses lists fetched before, and",
      "`--translation FILE --packages FILE [--release FILE]` reads index files copied from",
      `elsewhere when the machine's sources are not ${SUITE}.`,
    ),
    "",
    wrap(
      "The archive changes with each point release, so a rebuild reproduces these files only",
      "from the same index (checksums below). From the same index the JSON lines are identical.",
      "The gzip files are byte-identical when built with the same Node.js build: the header",
      "carries no timestamp, but the deflate stream comes from Node's bundled zlib.",
    ),
  ];
}

function summaryCard(input: SummaryCardInput): string {
  const { splits } = input;
  const all = SPLITS.flatMap((s) => splits[s]);
  const descriptionStats = lengthStats(all.map((p) => words(p.description).length));
  const synopsisStats = lengthStats(all.map((p) => words(p.synopsis).length));
  const overlap = synopsisOverlap(all);
  const splitRows = SPLITS.map((s) => {
    const pairs = formatNumber(splits[s].length);
    const sources = formatNumber(new Set(splits[s].map((p) => p.source)).size);
    return `| ${s} | ${pairs} | ${sources} | ${formatNumber(input.fileSizes[s])} |`;
  });
  const filterRows = input.counts.map((c) => {
    const rule = c.rule.replace(/\|/g, "\\|");
    return `| ${c.name} | \`${rule}\` | ${formatNumber(c.dropped)} |`;
  });
  const samples = samplePairs(splits.train, 3).flatMap((p) => [
    `### ${p.package} (source ${p.source})`,
    "",
    `Synopsis: ${p.synopsis}`,
    "",
    "Description:",
    "",
    indentBlock(p.description),
    "",
  ]);
  return [
    "# Debian package synopses",
    "",
    wrap(
      "The default task of clp: given the long description of a Debian package, write its",
      `one-line synopsis. Sources are the English long descriptions of Debian ${SUITE}`,
      `${COMPONENT} packages, and references are the synopses the maintainers wrote, unmodified.`,
    ),
    "",
    wrap(
      "Each line of `train.jsonl.gz`, `validation.jsonl.gz` and `test.jsonl.gz` is a JSON object",
      '`{"package", "source", "description", "synopsis"}`: the binary package, its source',
      "package, the long description as plain text and the synopsis. Lines are sorted by",
      "package name. `loadSplit` in `src/data/dataset.ts` reads them.",
    ),
    "",
    wrap(
      "Description text follows Debian's format. Paragraphs are joined by a blank line and",
      "wrapped lines by a space. Verbatim lines (two or more leading spaces in Debian, mostly",
      "lists) keep their own line and their indentation minus one space.",
    ),
    "",
    ...rebuildSection(input.provenance.command),
    "",
    "## Source index",
    "",
    ...provenanceLines(input.provenance),
    "",
    "## Splits",
    "",
    wrap(
      "Every source package is assigned to one split by the first 32 bits of the SHA-256 of its",
      "name (below 90 % of the range: train, next 5 %: validation, rest: test). So binary",
      "packages of one source never cross splits, and a source keeps its split when the archive",
      "changes.",
    ),
    "",
    "| split | pairs | source packages | bytes (gzip) |",
    "| --- | ---: | ---: | ---: |",
    ...splitRows,
    "",
    "## Lengths",
    "",
    "Whitespace-separated words over all splits.",
    "",
    "| field | mean | p50 | p90 | max |",
    "| --- | ---: | ---: | ---: | ---: |",
    statsRow("description", descriptionStats),
    statsRow("synopsis", synopsisStats),
    "",
    wrap(
      `${formatNumber(overlap.tokenShare * 100, 1)} % of all synopsis words (lowercased runs of`,
      "letters and digits) appear in the description of the same package, and in",
      `${formatNumber(overlap.allCovered * 100, 1)} % of pairs every synopsis word does. The other`,
      "words must be paraphrased or inferred.",
    ),
    "",
    "## Filters",
    "",
    wrap(
      `Translation-en has ${formatNumber(input.totalEntries)} entries.`,
      `${formatNumber(input.duplicateEntries)} of them repeat a package listed before, and the`,
      "entry whose Description-md5 matches the Packages index is kept.",
      `${formatNumber(input.unknownSource)} packages are missing from the ${ARCHITECTURE}`,
      "Packages index because they are built for other architectures only. Their source package",
      `is unknown, so they are left out. That leaves ${formatNumber(input.withSource)} packages,`,
      "sorted by name. The rules below run in this order, and each package counts only under",
      "the first rule that drops it.",
    ),
    "",
    "| filter | rule | dropped |",
    "| --- | --- | ---: |",
    ...filterRows,
    "",
    "## Licence",
    "",
    licence("Each description and synopsis"),
    "",
    "## Samples",
    "",
    ...samples,
  ].join("\n");
}

interface PretrainCardInput {
  provenance: IndexProvenance;
  withSource: number;
  corpus: PretrainCorpus;
  rawBytes: number;
  compressedBytes: number;
}

function pretrainCard(input: PretrainCardInput): string {
  const { corpus } = input;
  const wordCount = corpus.documents.reduce((sum, d) => sum + words(d).length, 0);
  const rows: Array<[string, number]> = [
    ["packages with a known source package", input.withSource],
    ["left out: empty description", corpus.emptyDropped],
    ["left out: text of a validation or test source package", corpus.heldOutDropped],
    [
      `left out: shares a paragraph of ${SHARED_PARAGRAPH_MIN_WORDS}+ words with a validation or test pair`,
      corpus.sharedParagraphDropped,
    ],
    ["left out: duplicate text", corpus.duplicateDropped],
    ["left out: contains the separator line", corpus.separatorDropped],
    ["documents", corpus.documents.length],
    ["words (whitespace-separated)", wordCount],
    ["bytes (UTF-8, uncompressed)", input.rawBytes],
    ["bytes (gzip)", input.compressedBytes],
  ];
  return [
    "# Debian description corpus",
    "",
    wrap(
      `Plain-text long descriptions of Debian ${SUITE} ${COMPONENT} packages for language-model`,
      "pretraining. Each document is one package's description, and a line containing only",
      `\`${DOCUMENT_SEPARATOR}\` ends each document. Synopses are not included.`,
      "`loadPretrainCorpus` in `src/data/dataset.ts` reads it.",
    ),
    "",
    wrap(
      "Unlike the summary splits in `data/debian-synopses`, no package family and no length is",
      "filtered out. A package is held out when its source package is assigned to the",
      "validation or test split (the same SHA-256 rule as the splits). A description is left",
      "out when a held-out package has the same text, or when it shares a paragraph of at least",
      `${SHARED_PARAGRAPH_MIN_WORDS} words with a validation or test pair. So no evaluation`,
      "description reaches the corpus through a package of another source. Identical texts",
      "appear once. Documents are in package-name order.",
    ),
    "",
    wrap(
      "Paragraphs that differ from a held-out one by a single word or a version number pass",
      "this check, so a few near-copies of held-out descriptions may remain.",
    ),
    "",
    ...rebuildSection(input.provenance.command),
    "",
    "The same run builds the summary splits described in `data/debian-synopses/DATACARD.md`.",
    "",
    "## Source index",
    "",
    ...provenanceLines(input.provenance),
    "",
    "## Contents",
    "",
    "| measure | value |",
    "| --- | ---: |",
    ...rows.map(([label, value]) => `| ${label} | ${formatNumber(value)} |`),
    "",
    "## Licence",
    "",
    licence("Each description"),
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

function log(message: string): void {
  process.stderr.write(`build-data: ${message}\n`);
}

function rebuildCommand(options: Options, root: string): string {
  const parts = ["node dist/scripts/build-data.js"];
  const show = (path: string) => (path.startsWith(`${root}/`) ? relative(root, path) : path);
  if (options.lists !== undefined) parts.push(`--lists ${show(options.lists)}`);
  if (options.translation !== undefined) parts.push(`--translation ${show(options.translation)}`);
  if (options.packages !== undefined) parts.push(`--packages ${show(options.packages)}`);
  if (options.release !== undefined) parts.push(`--release ${show(options.release)}`);
  if (options.out !== join(root, "data/debian-synopses")) parts.push(`--out ${show(options.out)}`);
  if (options.pretrainOut !== join(root, "data/pretrain"))
    parts.push(`--pretrain-out ${show(options.pretrainOut)}`);
  return parts.join(" ");
}

function main(argv: string[]): void {
  const started = Date.now();
  const root = findPackageRoot();
  const options = parseOptions(argv, root);
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  let files: IndexFiles;
  if (options.translation !== undefined && options.packages !== undefined) {
    files = {
      translation: options.translation,
      packages: options.packages,
      release: options.release,
    };
  } else {
    const listsDir = options.lists ?? join(root, ".cache/debian-lists");
    if (options.lists === undefined) fetchLists(listsDir);
    files = locateIndexFiles(listsDir);
    if (options.release !== undefined) files.release = options.release;
  }
  log(`reading ${files.translation}`);
  const translationText = readIndexText(files.translation);
  log(`reading ${files.packages}`);
  const packagesText = readIndexText(files.packages);
  const release =
    files.release === undefined ? undefined : parseRelease(readFileSync(files.release, "utf8"));

  const translations = parseTranslations(translationText.toString("utf8"));
  const binaries = parsePackages(packagesText.toString("utf8"));
  if (translations.length === 0)
    throw new Error(`no Description-en entries in ${files.translation}`);
  if (binaries.size === 0) throw new Error(`no Package entries in ${files.packages}`);
  log(`${translations.length} Translation-en entries, ${binaries.size} binary packages`);

  const {
    pairs: withSource,
    unknownSource,
    duplicateEntries,
  } = attachSources(translations, binaries);
  const { kept, counts } = filterPairs(withSource);
  const splits: Record<Split, Pair[]> = { train: [], validation: [], test: [] };
  for (const pair of kept) splits[splitOf(pair.source)].push(pair);

  mkdirSync(options.out, { recursive: true });
  mkdirSync(options.pretrainOut, { recursive: true });
  const fileSizes: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  for (const split of SPLITS) {
    fileSizes[split] = writeJsonl(join(options.out, `${split}.jsonl.gz`), splits[split]);
    log(`${split}: ${splits[split].length} pairs, ${fileSizes[split]} bytes`);
  }

  const corpus = buildPretrainCorpus(withSource, [...splits.validation, ...splits.test]);
  const corpusText = Buffer.from(
    corpus.documents.map((d) => `${d}\n${DOCUMENT_SEPARATOR}\n`).join(""),
    "utf8",
  );
  const corpusCompressed = gzipFixed(corpusText);
  writeFileSync(join(options.pretrainOut, "descriptions.txt.gz"), corpusCompressed);
  log(`pretraining corpus: ${corpus.documents.length} documents, ${corpusCompressed.length} bytes`);

  const provenance: IndexProvenance = {
    command: rebuildCommand(options, root),
    release,
    translationFile: files.translation,
    translationSha256: sha256Hex(translationText),
    packagesFile: files.packages,
    packagesSha256: sha256Hex(packagesText),
  };
  const summaryInput: SummaryCardInput = {
    provenance,
    totalEntries: translations.length,
    duplicateEntries,
    unknownSource,
    withSource: withSource.length,
    counts,
    splits,
    fileSizes,
  };
  writeFileSync(join(options.out, "DATACARD.md"), summaryCard(summaryInput));
  const pretrainInput: PretrainCardInput = {
    provenance,
    withSource: withSource.length,
    corpus,
    rawBytes: corpusText.length,
    compressedBytes: corpusCompressed.length,
  };
  writeFileSync(join(options.pretrainOut, "DATACARD.md"), pretrainCard(pretrainInput));
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  if (
    error instanceof UsageError ||
    (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
  ) {
    process.stderr.write(`build-data: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`build-data: ${(error as Error).message}\n`);
  process.exit(1);
}
