// `planasonix run`: the operator process. Drains and releases the lease on SIGTERM (a rolling update)
// and SIGINT (Ctrl-C), so the next replica takes over at once.
import { parseConfig, ConfigError, CONFIG_OPTIONS } from '../config/config.ts';
import { KubeClient } from '../kube/client.ts';
import { createLogger } from '../observability/logger.ts';
import { startOperator } from '../operator/operator.ts';

export async function runCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(runUsage());
    return 0;
  }
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

/** The flags of `run`, from the same definitions as docs/configuration.md. */
function runUsage(): string {
  const options = CONFIG_OPTIONS.map((o) => `  ${o.flag}  (${o.env}, default ${o.default.replaceAll('`', '')})\n      ${o.description}\n`);
  return `Usage: planasonix run [flags]\n\nRuns the operator. Every flag can also be set by its environment variable; a flag wins.\n\n${options.join('')}`;
}
