// Assembles the operator from its parts: shared informers, the controllers (while leading), the
// receiver (on every replica), and the metrics and health endpoints. `planasonix run` and the tests
// start exactly this.
import { hostname } from 'node:os';
import type { V1Secret } from '@kubernetes/client-node';
import type { DeliveryRecord, Pipeline, PipelineRun, WebhookTrigger } from '../api/types.ts';
import type { Config } from '../config/config.ts';
import type { KubeClient } from '../kube/client.ts';
import { RESOURCES } from '../kube/resources.ts';
import { WEBHOOK_SECRET_SELECTOR } from '../api/constants.ts';
import { createEventRecorder } from '../kube/events.ts';
import { Manager, type InformerSelector } from '../controller-runtime/manager.ts';
import { keyOf } from '../controller-runtime/keys.ts';
import type { Controller } from '../controller-runtime/controller.ts';
import { createTriggerController } from '../controllers/webhook-trigger/trigger-controller.ts';
import { createPipelineRunController } from '../controllers/pipeline-run/pipeline-run-controller.ts';
import { createRecordExpiryController } from '../controllers/delivery-record/record-expiry-controller.ts';
import { createPipelineController } from '../controllers/pipeline/pipeline-controller.ts';
import { RoutingTable } from '../receiver/routing-table.ts';
import { routingViewOfSecret, routingViewOfTrigger, type RoutingTrigger } from '../receiver/routing-view.ts';
import { createReceiverApp } from '../receiver/app.ts';
import { RequestBudget } from '../receiver/request-budget.ts';
import { listen, type RunningServer } from '../receiver/server.ts';
import { compileTrustedProxies } from '../util/source-ranges.ts';
import { describeError, type Logger } from '../observability/logger.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { observeRequest } from './observe-request.ts';
import { observeControllers, recordReconcile } from './observe-controllers.ts';
import { startOpsServers } from './ops-server.ts';

export interface OperatorOptions {
  config: Config;
  client: KubeClient;
  logger: Logger;
  metrics?: Metrics;
  /** Names this replica in its Lease and in Events; defaults to the host name. */
  identity?: string;
  /**
   * The clock rotation schedules and signature tolerances are read against; the wall clock unless a
   * test drives it (timers still wait in real time: a test moves the clock, then wakes the controller).
   */
  now?: () => Date;
}

export interface RunningOperator {
  manager: Manager;
  routes: RoutingTable | undefined;
  metrics: Metrics;
  receiverUrl: string | undefined;
  /** Where /metrics is served. */
  opsUrl: string;
  /** Where /healthz and /readyz are served. */
  healthUrl: string;
  controllers: Controller[];
  /** Drains the receiver, stops the controllers, releases the lease, stops the informers. */
  stop(): Promise<void>;
}

export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const { config, client, logger } = opts;
  const metrics = opts.metrics ?? createMetrics();
  const identity = opts.identity ?? `${hostname()}-${process.pid}`;
  const runControllers = config.components !== 'receiver';
  const runReceiver = config.components !== 'controllers';
  const namespaces = [...new Set(config.namespaces)];
  const stopCountingRequests = client.onRequest((request) => metrics.kubeRequests.inc(request));

  const manager = new Manager(client, {
    logger: logger.child({ component: 'manager' }),
    ...(config.leaderElect && runControllers
      ? {
          leaderElection: {
            namespace: config.leaderElectionNamespace,
            name: config.leaderElectionId,
            identity,
            leaseDurationMs: config.leaseDurationMs,
            renewDeadlineMs: config.renewDeadlineMs,
            retryPeriodMs: config.retryPeriodMs,
          },
        }
      : {}),
  });
  // Several namespaces: one informer per namespace and resource, each read as one cache. Objects
  // elsewhere are never cached, so they get no route and no reconcile.
  const selector: InformerSelector = namespaces.length > 0 ? { namespaces } : {};
  // The controllers read whole triggers and every Secret (a trigger's spec.auth.secretRef may name
  // any). A single process routes from those same caches, and the routing table reads only
  // generated Secrets from them.
  const controllerCaches = runControllers
    ? { triggers: manager.informer<WebhookTrigger>(RESOURCES.webhookTriggers, selector), secrets: manager.informer<V1Secret>(RESOURCES.secrets, selector) }
    : undefined;

  const controllers: Controller[] = [];
  if (controllerCaches) {
    const { triggers, secrets } = controllerCaches;
    const runs = manager.informer<PipelineRun>(RESOURCES.pipelineRuns, selector);
    const records = manager.informer<DeliveryRecord>(RESOURCES.deliveryRecords, selector);
    const events = createEventRecorder(client, {
      instance: identity,
      onError: (e) => logger.warn({ component: 'events', ...describeError(e) }, 'recording an event failed'),
      onDropped: () => metrics.eventsDropped.inc({}),
    });
    const pipelines = manager.informer<Pipeline>(RESOURCES.pipelines, selector);
    const jobs = manager.informer(RESOURCES.jobs, { ...selector, labelSelector: 'planasonix.io/pipeline-run' });
    const triggerController = createTriggerController({
      client,
      triggers,
      pipelines,
      secrets,
      runs,
      lastDeliveryIntervalMs: config.statusFlushIntervalMs,
      externalUrl: config.externalUrl,
      limits: { defaultMaxBytes: config.defaultMaxBodyBytes, maxBodyBytes: config.maxBodyBytes, replayWindowMs: config.replayWindowMs },
      ...(opts.now ? { now: opts.now } : {}),
      events,
      logger, // the Controller names itself in every line
      onRotated: (t) => metrics.secretRotations.inc({ namespace: t.metadata.namespace!, trigger: t.metadata.name! }),
      onReconciled: recordReconcile(metrics),
    });
    const runController = createPipelineRunController({
      client,
      runs,
      pipelines,
      jobs,
      secrets,
      events,
      metrics,
      logger, // the Controller names itself in every line
      onReconciled: recordReconcile(metrics),
    });
    const pipelineController = createPipelineController({
      client,
      pipelines,
      triggers,
      logger, // the Controller names itself in every line
      onReconciled: recordReconcile(metrics),
    });
    const recordController = createRecordExpiryController({ client, records, logger, onReconciled: recordReconcile(metrics) });
    manager.addController(triggerController, triggers);
    manager.addController(runController, runs);
    manager.addController(pipelineController, pipelines);
    manager.addController(recordController, records);
    controllers.push(triggerController, runController, pipelineController, recordController);
    observeControllers(manager, controllers, metrics, { runs, triggers });
  }

  let routes: RoutingTable | undefined;
  let receiver: RunningServer | undefined;
  if (runReceiver) {
    // A receiver alone caches only the generated webhook Secrets, so that the internet-facing
    // process holds no other Secret, and keeps of them and of the triggers only what routing reads.
    const { triggers, secrets } = controllerCaches ?? {
      triggers: manager.informer<RoutingTrigger>(RESOURCES.webhookTriggers, selector, { transform: routingViewOfTrigger }),
      secrets: manager.informer<V1Secret>(RESOURCES.secrets, { ...selector, labelSelector: WEBHOOK_SECRET_SELECTOR }, { transform: routingViewOfSecret }),
    };
    routes = new RoutingTable(
      {
        trigger: (ns, name) => triggers.get(keyOf(ns, name)),
        secret: (ns, name) => secrets.get(keyOf(ns, name)),
      },
      {
        defaultMaxBytes: config.defaultMaxBodyBytes,
        maxBodyBytes: config.maxBodyBytes,
        replayWindowMs: config.replayWindowMs,
        onCompileError: (key, e) => logger.warn({ component: 'receiver', trigger: key, ...describeError(e) }, 'trigger cannot be served'),
      },
    );
    const table = routes;
    const refresh = (t: RoutingTrigger) => table.refreshTrigger(t.metadata.namespace!, t.metadata.name!);
    triggers.onAdd(refresh);
    triggers.onUpdate((_, t) => refresh(t));
    triggers.onDelete((t) => {
      refresh(t);
      void metrics.forgetTrigger(t.metadata.namespace!, t.metadata.name!);
    });
    secrets.onAdd((s) => table.refreshSecret(s));
    secrets.onUpdate((_, s) => table.refreshSecret(s));
    secrets.onDelete((s) => table.refreshSecret(s));
    const app = createReceiverApp({
      routes,
      client,
      trustedProxies: compileTrustedProxies(config.trustedProxies),
      createTimeoutMs: config.kubeApiTimeoutMs,
      budget: new RequestBudget({ maxRequests: config.maxInflightRequests, maxBodyBytes: config.maxInflightBodyBytes }),
      maxParamsBytes: config.maxParamsBytes,
      ...(opts.now ? { now: () => opts.now!().getTime() } : {}),
      observe: observeRequest({ metrics, logger: logger.child({ component: 'receiver' }) }),
    });
    receiver = await listen(app, {
      port: config.webhookPort,
      host: config.webhookBindAddress,
      headersTimeoutMs: config.headerTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      onError: (e) => logger.error({ component: 'receiver', ...describeError(e) }, 'the webhook server failed'),
      ...(config.tlsCertFile && config.tlsKeyFile ? { tls: { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } } : {}),
    });
  }

  const ops = await startOpsServers({
    metricsPort: config.metricsPort,
    healthPort: config.healthPort,
    host: config.webhookBindAddress,
    metrics,
    ready: () => manager.ready(),
  });
  if (manager.elector) metrics.leader.set(false);
  const started = manager.start();
  started.catch((e: unknown) => logger.error({ ...describeError(e) }, 'the manager failed to start'));
  logger.info({ receiver: receiver?.url, metrics: ops.metricsUrl, health: ops.healthUrl, identity, controllers: runControllers, namespaces: namespaces.length > 0 ? namespaces.join(',') : '(all)' }, 'operator started');

  return {
    manager,
    routes,
    metrics,
    receiverUrl: receiver?.url,
    opsUrl: ops.metricsUrl,
    healthUrl: ops.healthUrl,
    controllers,
    async stop() {
      // New deliveries stop first; in-flight ones finish (or hit their timeout) before the rest goes.
      await receiver?.close(config.requestTimeoutMs);
      await manager.stop();
      await ops.close();
      stopCountingRequests();
    },
  };
}
