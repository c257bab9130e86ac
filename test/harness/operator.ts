// Runs the whole operator in this process against the test control plane, on free ports.
import { parseConfig, type Config } from '../../src/config/config.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { createLogger, type Logger } from '../../src/observability/logger.ts';
import { startOperator, type RunningOperator } from '../../src/operator/operator.ts';
import { controlPlane } from './root-hooks.ts';

export interface TestOperator extends RunningOperator {
  config: Config;
  client: KubeClient;
  receiverUrl: string;
}

export async function startTestOperator(overrides: Partial<Config> = {}, opts: { logger?: Logger; identity?: string; client?: KubeClient; now?: () => Date } = {}): Promise<TestOperator> {
  const base = parseConfig(
    [
      '--webhook-port=0',
      '--metrics-port=0',
      '--health-port=0',
      '--webhook-bind-address=127.0.0.1',
      '--leader-elect=false',
      '--status-flush-interval=1s',
      '--external-url=https://hooks.example.test',
    ],
    {},
  );
  const config: Config = { ...base, ...overrides };
  const client = opts.client ?? KubeClient.fromDefault({ kubeconfig: controlPlane().kubeconfig, timeoutMs: config.kubeApiTimeoutMs });
  const logger = opts.logger ?? createLogger({ level: (process.env.PLANASONIX_TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent' });
  const operator = await startOperator({ config, client, logger, ...(opts.identity ? { identity: opts.identity } : {}), ...(opts.now ? { now: opts.now } : {}) });
  await waitFor(() => operator.manager.ready(), 30_000);
  return { ...operator, config, client, receiverUrl: operator.receiverUrl ?? '' };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`operator not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A clock a test moves by hand, for the operator's `now`: rotations fall due when the test says so. */
export class TestClock {
  private ms: number;

  constructor(start = Date.now()) {
    this.ms = start;
  }

  readonly now = (): Date => new Date(this.ms);

  advance(ms: number): void {
    this.ms += ms;
  }

  /** Moves to `ms` (never back). */
  set(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}
