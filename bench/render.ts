// Renders docs/benchmarks.md and docs/benchmarks-latency.svg again from bench/results.json, for
// changes to the report's wording without a new run:  node bench/render.ts
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './processes.ts';
import { renderLatencySvg, renderMarkdown, type Results } from './report.ts';

const results = JSON.parse(readFileSync(path.join(repoRoot, 'bench/results.json'), 'utf8')) as Results;
writeFileSync(path.join(repoRoot, 'docs/benchmarks-latency.svg'), renderLatencySvg(results));
writeFileSync(path.join(repoRoot, 'docs/benchmarks.md'), renderMarkdown(results));
process.stdout.write('rendered docs/benchmarks.md and docs/benchmarks-latency.svg from bench/results.json\n');
