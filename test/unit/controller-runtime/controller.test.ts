import { expect } from 'chai';
import { Controller, type ReconcileEvent } from '../../../src/controller-runtime/controller.ts';
import { TerminalError, type ReconcileResult } from '../../../src/controller-runtime/reconciler.ts';
import type { Logger } from '../../../src/observability/logger.ts';
import { KubeError, errorFromStatus } from '../../../src/kube/errors.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await wait(2);
  }
}

interface LogLine {
  level: string;
  fields: object;
  msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (fields: object, msg?: string) => lines.push({ level, fields, msg });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

describe('Controller', () => {
  const controllers: Controller[] = [];
  afterEach(async () => {
    await Promise.all(controllers.splice(0).map((c) => c.stop()));
  });

  function makeController(reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>, extra: Partial<ConstructorParameters<typeof Controller>[0]> = {}) {
    const events: ReconcileEvent[] = [];
    const controller = new Controller({
      name: 'test',
      reconcile,
      queue: { baseDelayMs: 5, maxDelayMs: 50 },
      onReconciled: (e) => events.push(e),
      ...extra,
    });
    controllers.push(controller);
    return { controller, events };
  }

  it('reconciles each queued key and records the outcome and duration', async () => {
    const seen: string[] = [];
    const { controller, events } = makeController(async (key) => {
      seen.push(key);
      await wait(5);
    });
    controller.enqueue('ns/a');
    controller.enqueue('ns/a');
    controller.start();
    controller.enqueue('ns/b');
    await until(() => events.length === 2);
    expect(seen).to.deep.equal(['ns/a', 'ns/b']);
    expect(events.map((e) => e.outcome)).to.deep.equal(['success', 'success']);
    expect(events[0]!.durationMs).to.be.greaterThanOrEqual(4);
    expect(controller.stats.reconciles).to.equal(2);
  });

  it('runs the key again after requeueAfterMs', async () => {
    const times: number[] = [];
    const { controller } = makeController(async () => {
      times.push(Date.now());
      return times.length === 1 ? { requeueAfterMs: 80 } : {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await until(() => times.length === 2);
    expect(times[1]! - times[0]!).to.be.greaterThanOrEqual(75);
  });

  it('logs a TerminalError and does not retry the key', async () => {
    const lines: LogLine[] = [];
    let calls = 0;
    const { controller, events } = makeController(
      async () => {
        calls++;
        throw new TerminalError('spec.pipelineRef is empty');
      },
      { logger: recordingLogger(lines) },
    );
    controller.start();
    controller.enqueue('ns/a');
    await until(() => events.length === 1);
    await wait(100); // deliberate negative check: a retry would come within this
    expect(calls).to.equal(1);
    expect(events[0]!.outcome).to.equal('terminal');
    expect(controller.stats.terminalErrors).to.equal(1);
    expect(controller.stats.errors).to.equal(0);
    const logged = lines.find((l) => l.level === 'error');
    expect(logged?.fields).to.include({ key: 'ns/a', errorMessage: 'spec.pipelineRef is empty' });
  });

  it('retries any other error with growing backoff until it succeeds', async () => {
    const times: number[] = [];
    const { controller, events } = makeController(async () => {
      times.push(performance.now());
      if (times.length <= 4) throw new Error('API server unreachable');
    });
    controller.start();
    controller.enqueue('ns/a');
    await until(() => events.some((e) => e.outcome === 'success'));
    expect(events.map((e) => e.outcome)).to.deep.equal(['error', 'error', 'error', 'error', 'success']);
    expect(controller.stats.errors).to.equal(4);
    // Retries wait 5, 10, 20 and 40 ms.
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[3]!).to.be.greaterThanOrEqual(38);
    expect(gaps[3]!).to.be.greaterThan(gaps[0]!);
    // Success forgets the failures.
    expect(controller.queue.numRequeues('ns/a')).to.equal(0);
  });

  it('does not retry a create refused because the namespace is being deleted', async () => {
    let calls = 0;
    const { controller, events } = makeController(async () => {
      calls++;
      // As the API server answers a create in a terminating namespace.
      throw errorFromStatus(
        403,
        JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'unable to create new content in namespace data because it is being terminated', details: { causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] } }),
        null,
      );
    });
    controller.start();
    controller.enqueue('data/a');
    await until(() => events.length === 1);
    await wait(50); // deliberate negative check: several backoff periods, and no retry
    expect(calls).to.equal(1);
    expect(events.map((e) => e.outcome)).to.deep.equal(['terminal']);
    expect(controller.stats.errors).to.equal(0);
  });

  it('requeues a Conflict (a decision from a stale cache) quietly: no error, no warning', async () => {
    let calls = 0;
    const lines: LogLine[] = [];
    const { controller, events } = makeController(async () => {
      if (++calls === 1) throw new KubeError(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version');
    }, { logger: recordingLogger(lines) });
    controller.start();
    controller.enqueue('data/a');
    await until(() => events.length === 2);
    expect(events.map((e) => e.outcome)).to.deep.equal(['requeue', 'success']);
    expect(controller.stats.errors).to.equal(0);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).to.deep.equal([]);
  });

  it('retries any other 403, which RBAC can turn into a success', async () => {
    let calls = 0;
    const { controller } = makeController(async () => {
      if (++calls === 1) throw errorFromStatus(403, JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'secrets is forbidden' }), null);
    });
    controller.start();
    controller.enqueue('data/a');
    await until(() => calls === 2);
  });

  it('honours the Retry-After of a KubeError', async () => {
    const times: number[] = [];
    const { controller } = makeController(async () => {
      times.push(Date.now());
      if (times.length === 1) throw new KubeError(429, 'TooManyRequests', 'slow down', 1);
    });
    controller.start();
    controller.enqueue('ns/a');
    await until(() => times.length === 2, 3000);
    expect(times[1]! - times[0]!).to.be.greaterThanOrEqual(990);
  });

  it('reconciles different keys in parallel up to the worker count, one key at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const activeKeys = new Set<string>();
    let sameKeyOverlap = false;
    const { controller, events } = makeController(
      async (key) => {
        if (activeKeys.has(key)) sameKeyOverlap = true;
        activeKeys.add(key);
        maxActive = Math.max(maxActive, ++active);
        await wait(20);
        active--;
        activeKeys.delete(key);
      },
      { workers: 3 },
    );
    controller.start();
    for (const key of ['ns/a', 'ns/b', 'ns/c', 'ns/d', 'ns/e', 'ns/f']) controller.enqueue(key);
    // Again while ns/a is in hand: it must wait for the first to finish.
    await until(() => activeKeys.has('ns/a'));
    controller.enqueue('ns/a');
    await until(() => events.length === 7);
    expect(maxActive).to.equal(3);
    expect(sameKeyOverlap).to.equal(false);
  });

  it('stop() aborts the signal of in-flight reconciles and waits for them', async () => {
    let finished = false;
    let sawAbort = false;
    const { controller, events } = makeController(async (_key, signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      sawAbort = signal.aborted;
      await wait(20);
      finished = true;
      throw new Error('aborted');
    });
    controller.start();
    controller.enqueue('ns/a');
    await until(() => controller.queue.inFlight === 1);
    await controller.stop();
    expect(sawAbort).to.equal(true);
    expect(finished).to.equal(true);
    // An error caused by stopping is neither retried nor counted as a failure.
    expect(events.map((e) => e.outcome)).to.deep.equal(['cancelled']);
    expect(controller.stats.errors).to.equal(0);
  });

  it('drops keys while stopped and works again after a restart', async () => {
    const seen: string[] = [];
    const { controller } = makeController(async (key) => {
      seen.push(key);
    });
    controller.start();
    await controller.stop();
    controller.enqueue('ns/dropped');
    controller.start();
    controller.enqueue('ns/b');
    await until(() => seen.length === 1);
    await wait(20); // deliberate negative check: the dropped key does not come back
    expect(seen).to.deep.equal(['ns/b']);
    expect(controller.running).to.equal(true);
  });

  it('keeps working when the onReconciled hook throws', async () => {
    let calls = 0;
    const { controller } = makeController(
      async () => {
        calls++;
      },
      {
        onReconciled: () => {
          throw new Error('metrics broke');
        },
      },
    );
    controller.start();
    controller.enqueue('ns/a');
    await until(() => calls === 1);
    controller.enqueue('ns/b');
    await until(() => calls === 2);
  });
});
