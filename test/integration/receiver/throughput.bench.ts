// Throughput of the receiver on this machine, for the reject path (wrong signature → 401) and the
// accept path (signed delivery → a PipelineRun stored → 202), the latter also with a delivery-ID
// header (which adds the replay look-up). It prints figures and asserts
// nothing, so it is not part of `make test` (the name does not end in .test.ts). Run it alone:
//   npx mocha test/integration/receiver/throughput.bench.ts
// Env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 20).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { createPipeline, createTrigger, type TriggerHandle } from './receiver-fixtures.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), 'autocannon-runner.ts');

function load(url: string, mode: 'reject' | 'accept' | 'accept-with-id', secret: string): Promise<Record<string, unknown>> {
  const job = JSON.stringify({ url, mode, secret, durationSeconds: SECONDS, connections: CONNECTIONS });
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [runner, job], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout) as Record<string, unknown>))),
  );
}

describe('receiver throughput (benchmark, no assertions)', function () {
  this.timeout(SECONDS * 2_000 + 120_000);
  const ns = useNamespace('rx-bench');
  let controllers: TestOperator | undefined;
  let receiver: TestOperator | undefined;
  let trigger: TriggerHandle;

  before(async () => {
    // The full operator makes the trigger Ready; the load then goes to a receiver-only replica, so
    // the run controller's work on thousands of new runs does not compete for this machine's cores.
    controllers = await startTestOperator();
    await createPipeline(ns());
    trigger = await createTrigger(controllers, ns(), 'bench');
    await controllers.stop();
    controllers = undefined;
    receiver = await startTestOperator({ components: 'receiver', requestTimeoutMs: 30_000 });
  });
  after(async () => {
    await receiver?.stop();
    await controllers?.stop();
  });

  for (const mode of ['reject', 'accept', 'accept-with-id'] as const) {
    it(`${mode} path`, async () => {
      const result = await load(receiver!.receiverUrl + trigger.path, mode, trigger.secret);
      console.log(`      ${JSON.stringify(result)}`);
    });
  }
});
