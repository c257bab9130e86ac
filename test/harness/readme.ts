// The README as a newcomer runs it: its shell blocks' commands, and the PATH of a shell that has
// not got the project's tools on it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './control-plane.ts';

/** The commands of each ```sh block in the README's section `heading`: comments dropped, continuations joined. */
export function readmeBlocks(heading: string): string[][] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading ${heading}`);
  const rest = readme.slice(at + heading.length + 2);
  const section = rest.slice(0, rest.search(/\n## |$/));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.replace(/(^|\s+)#(?![^'"]*['"]).*$/, '').trim())
      .filter((l) => l !== ''),
  );
}

/** The commands of the README's first ```sh block under `heading`. */
export function readmeBlock(heading: string): string[] {
  const [first] = readmeBlocks(heading);
  if (!first) throw new Error(`README.md has no sh block under ${heading}`);
  return first;
}

/**
 * The PATH of a newcomer's shell: the machine's own, without the project's .tools/bin that make puts
 * first (its Node.js 24 is what the README's lines must not silently depend on).
 */
export function machinePath(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => !path.resolve(dir).startsWith(path.join(repoRoot, '.tools')))
    .join(path.delimiter);
}
