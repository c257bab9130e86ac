// `-o json|yaml|name|wide` as kubectl prints them: one object as itself, several as a v1 List; `name`
// as resource/name lines; the default and `wide` as a table whose extra columns appear with wide.
import { stringify } from 'yaml';
import type { KubeObject } from '../kube/client.ts';
import { UsageError, stringFlag, type FlagValues } from './cli-args.ts';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export const OUTPUT_FLAG = { output: { type: 'string', short: 'o' } } as const;

export const OUTPUT_HELP = '  -o, --output FORMAT     json, yaml, name or wide (default: a table)';

/** The -o value, checked against the formats the command supports. */
export function outputFormatFrom(values: FlagValues, allowed: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name']): OutputFormat {
  const value = stringFlag(values, 'output');
  if (value === undefined) return 'table';
  if (value !== 'table' && (allowed as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`-o ${value} is not supported here (use ${allowed.filter((f) => f !== 'table').join(', ')})`);
}

/** Objects as JSON or YAML: one object alone, several (or a listing) as a v1 List, as kubectl does. */
export function formatObjects(objects: readonly KubeObject[], format: 'json' | 'yaml', asList: boolean): string {
  const value = asList || objects.length !== 1 ? { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } } : objects[0];
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value);
}

/** `pipelinerun.planasonix.io/NAME`, the form kubectl's -o name prints and accepts. */
export function qualifiedName(resource: string, object: KubeObject): string {
  return `${resource}/${object.metadata?.name ?? ''}`;
}

export interface Column<T> {
  header: string;
  value: (item: T) => string;
  /** Shown only with -o wide. */
  wide?: boolean;
}

/** A kubectl-style table: upper-case headers, columns separated by three spaces. */
export function formatTable<T>(items: readonly T[], columns: readonly Column<T>[], wide: boolean): string {
  const shown = columns.filter((c) => wide || !c.wide);
  const rows = [shown.map((c) => c.header), ...items.map((item) => shown.map((c) => c.value(item) || '<none>'))];
  const widths = shown.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

/** "5m", "3h", "2d": an age as kubectl prints it. */
export function age(time: string | undefined, now = Date.now()): string {
  if (!time) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(time)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}
