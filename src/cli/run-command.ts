// `planasonix run`: the operator process. Drains and releases the lease on SIGTERM (a rolling update)
// and SIGINT (Ctrl-C), so the next replica takes over at once.
import { parseConfig, ConfigError } from '../config/config.ts';
import { KubeClient } from '../kube/client.ts';
import { createLogger } from '../observability/logger.ts';
import { startOperator } from '../operator/operator.ts';

export async function runCommand(argv: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel });
  const client = KubeClient.fromDefault({ timeoutMs: config.kubeApiTimeoutMs });
  const operator = await startOperator({ config, client, logger, ...(process.env.POD_NAME ? { identity: process.env.POD_NAME } : {}) });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping: draining in-flight deliveries');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await operator.stop();
  logger.info({}, 'stopped');
  return 0;
}
