import { expect } from 'chai';
import { CONFIG_OPTIONS, ConfigError, parseConfig, renderConfigTable, type Config } from '../../../src/config/config.ts';

const DEFAULTS: Config = {
  externalUrl: 'http://127.0.0.1:8080',
  webhookPort: 8080,
  webhookBindAddress: '0.0.0.0',
  metricsPort: 9090,
  healthPort: 8081,
  namespaces: [],
  trustedProxies: [],
  leaderElect: true,
  leaderElectionNamespace: 'planasonix-system',
  leaderElectionId: 'planasonix-webhook-operator',
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  logLevel: 'info',
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  defaultMaxBodyBytes: 1024 * 1024,
  maxBodyBytes: 4 * 1024 * 1024,
  maxInflightRequests: 128,
  maxInflightBodyBytes: 16 * 1024 * 1024,
  maxParamsBytes: 512 * 1024,
  replayWindowMs: 24 * 3600 * 1000,
  requestTimeoutMs: 30_000,
  headerTimeoutMs: 10_000,
  components: 'all',
  kubeApiTimeoutMs: 10_000,
  statusFlushIntervalMs: 5_000,
};

/** The problems parseConfig reports, or [] when it accepts the input. */
function problemsOf(argv: string[], env: Record<string, string> = {}): readonly string[] {
  try {
    parseConfig(argv, env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe('parseConfig', () => {
  describe('defaults', () => {
    it('gives the documented defaults when nothing is set', () => {
      expect(parseConfig([], {})).to.deep.equal(DEFAULTS);
    });

    it('takes the leader-election namespace from POD_NAMESPACE', () => {
      expect(parseConfig([], { POD_NAMESPACE: 'operators' }).leaderElectionNamespace).to.equal('operators');
    });
  });

  describe('precedence', () => {
    it('prefers a flag to an environment variable, and either to the default', () => {
      const env = { PLANASONIX_WEBHOOK_PORT: '9000', PLANASONIX_LOG_LEVEL: 'debug', PLANASONIX_LEADER_ELECTION_NAMESPACE: 'from-env', POD_NAMESPACE: 'pod-ns' };
      const config = parseConfig(['--webhook-port=7000'], env);
      expect(config.webhookPort).to.equal(7000);
      expect(config.logLevel).to.equal('debug');
      expect(config.leaderElectionNamespace).to.equal('from-env');
      expect(config.metricsPort).to.equal(9090);
    });

    it('reads every option from its environment variable', () => {
      const env: Record<string, string> = {
        PLANASONIX_EXTERNAL_URL: 'https://hooks.example.com/',
        PLANASONIX_WEBHOOK_PORT: '8443',
        PLANASONIX_WEBHOOK_BIND_ADDRESS: '::',
        PLANASONIX_METRICS_PORT: '9100',
        PLANASONIX_HEALTH_PORT: '9101',
        PLANASONIX_NAMESPACES: 'data, ops,data',
        PLANASONIX_TRUSTED_PROXIES: '10.0.0.0/8, 2001:db8::/32, 192.0.2.7',
        PLANASONIX_LEADER_ELECT: 'false',
        PLANASONIX_LEADER_ELECTION_NAMESPACE: 'operators',
        PLANASONIX_LEADER_ELECTION_ID: 'planasonix.example.com',
        PLANASONIX_LEASE_DURATION: '30s',
        PLANASONIX_RENEW_DEADLINE: '20s',
        PLANASONIX_RETRY_PERIOD: '4s',
        PLANASONIX_LOG_LEVEL: 'trace',
        PLANASONIX_TLS_CERT_FILE: '/tls/tls.crt',
        PLANASONIX_TLS_KEY_FILE: '/tls/tls.key',
        PLANASONIX_DEFAULT_MAX_BODY_BYTES: '512Ki',
        PLANASONIX_MAX_BODY_BYTES: '2Mi',
        PLANASONIX_MAX_INFLIGHT_REQUESTS: '64',
        PLANASONIX_MAX_INFLIGHT_BODY_BYTES: '8Mi',
        PLANASONIX_MAX_PARAMS_BYTES: '256Ki',
        PLANASONIX_REPLAY_WINDOW: '2h',
        PLANASONIX_REQUEST_TIMEOUT: '1m',
        PLANASONIX_HEADER_TIMEOUT: '5s',
        PLANASONIX_COMPONENTS: 'receiver',
        PLANASONIX_KUBE_API_TIMEOUT: '3s',
        PLANASONIX_STATUS_FLUSH_INTERVAL: '500ms',
      };
      expect(Object.keys(env)).to.have.members(CONFIG_OPTIONS.map((o) => o.env));
      expect(parseConfig([], env)).to.deep.equal({
        externalUrl: 'https://hooks.example.com',
        webhookPort: 8443,
        webhookBindAddress: '::',
        metricsPort: 9100,
        healthPort: 9101,
        namespaces: ['data', 'ops'],
        trustedProxies: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7/32'],
        leaderElect: false,
        leaderElectionNamespace: 'operators',
        leaderElectionId: 'planasonix.example.com',
        leaseDurationMs: 30_000,
        renewDeadlineMs: 20_000,
        retryPeriodMs: 4_000,
        logLevel: 'trace',
        tlsCertFile: '/tls/tls.crt',
        tlsKeyFile: '/tls/tls.key',
        defaultMaxBodyBytes: 512 * 1024,
        maxBodyBytes: 2 * 1024 * 1024,
        maxInflightRequests: 64,
        maxInflightBodyBytes: 8 * 1024 * 1024,
        maxParamsBytes: 256 * 1024,
        replayWindowMs: 2 * 3600 * 1000,
        requestTimeoutMs: 60_000,
        headerTimeoutMs: 5_000,
        components: 'receiver',
        kubeApiTimeoutMs: 3_000,
        statusFlushIntervalMs: 500,
      } satisfies Config);
    });

    it('treats an empty environment variable as unset', () => {
      expect(parseConfig([], { PLANASONIX_EXTERNAL_URL: '', PLANASONIX_METRICS_PORT: '' })).to.deep.equal(DEFAULTS);
    });

    it('lets an empty flag clear a list set in the environment', () => {
      expect(parseConfig(['--namespaces='], { PLANASONIX_NAMESPACES: 'data' }).namespaces).to.deep.equal([]);
    });

    it('uses the last of a repeated flag', () => {
      expect(parseConfig(['--log-level=debug', '--log-level=warn'], {}).logLevel).to.equal('warn');
    });
  });

  describe('flag forms', () => {
    it('reads a value written after = or as the next argument', () => {
      expect(parseConfig(['--metrics-port', '9100', '--health-port=9101'], {})).to.include({ metricsPort: 9100, healthPort: 9101 });
    });

    for (const [argv, expected] of [
      [['--leader-elect'], true],
      [['--no-leader-elect'], false],
      [['--leader-elect=false'], false],
      [['--leader-elect', 'false'], false],
      [['--leader-elect=TRUE'], true],
    ] as const) {
      it(`reads ${argv.join(' ')} as leaderElect=${expected}`, () => {
        expect(parseConfig([...argv], { PLANASONIX_LEADER_ELECT: String(!expected) }).leaderElect).to.equal(expected);
      });
    }

    it('normalises the external URL and keeps a base path', () => {
      expect(parseConfig(['--external-url=https://Hooks.Example.com:443/planasonix/'], {}).externalUrl).to.equal('https://hooks.example.com/planasonix');
    });

    it('accepts port 0, which picks a free port', () => {
      expect(parseConfig(['--webhook-port=0', '--metrics-port=0', '--health-port=0'], {})).to.include({ webhookPort: 0, metricsPort: 0, healthPort: 0 });
    });

    it('serves HTTPS only with both a certificate and a key', () => {
      expect(parseConfig(['--tls-cert-file=/tls/tls.crt', '--tls-key-file=/tls/tls.key'], {})).to.include({ tlsCertFile: '/tls/tls.crt', tlsKeyFile: '/tls/tls.key' });
    });
  });

  describe('validation', () => {
    const cases: [string, string[], Record<string, string>, string][] = [
      ['a URL that does not parse', ['--external-url=hooks.example.com'], {}, '--external-url: "hooks.example.com" is not an absolute URL'],
      ['a URL that is not http', ['--external-url=ftp://hooks.example.com'], {}, '--external-url: "ftp://hooks.example.com" must use http or https'],
      ['a URL with credentials', ['--external-url=https://user:pw@hooks.example.com'], {}, '--external-url: the URL must not contain credentials'],
      ['a URL with a query', ['--external-url=https://hooks.example.com/?a=1'], {}, '--external-url: "https://hooks.example.com/?a=1" must not have a query or a fragment'],
      ['an empty required value', ['--external-url='], {}, '--external-url: needs a value, got an empty one'],
      ['a port out of range', ['--webhook-port=65536'], {}, '--webhook-port: "65536" is not a port number'],
      ['a port that is not a number', ['--metrics-port=http'], {}, '--metrics-port: "http" is not a port number'],
      ['a negative port', ['--health-port=-1'], {}, '--health-port: "-1" is not a port number'],
      ['a Service link variable (a Service named planasonix-webhook, service links on)', [], { PLANASONIX_WEBHOOK_PORT: 'tcp://10.0.0.45:8080' },
        '--webhook-port (from PLANASONIX_WEBHOOK_PORT): "tcp://10.0.0.45:8080" is not a port number (0-65535; 0 picks a free port); it looks like a Kubernetes Service link variable: set enableServiceLinks: false in the Pod spec'],
      ['a bind address that is not an IP', ['--webhook-bind-address=localhost'], {}, '--webhook-bind-address: "localhost" is not an IP address'],
      ['a namespace that is not a name', ['--namespaces=data,Ops_1'], {}, '--namespaces: "Ops_1" is not a namespace name'],
      ['a CIDR with too many bits', ['--trusted-proxies=10.0.0.0/33'], {}, '--trusted-proxies: "10.0.0.0/33": not a CIDR'],
      ['a short IPv4 address', ['--trusted-proxies=10.1/8'], {}, '--trusted-proxies: "10.1/8": not a CIDR'],
      ['a boolean that is not one', ['--leader-elect=maybe'], {}, '--leader-elect: "maybe" is not true or false'],
      ['a negated non-boolean flag', ['--no-webhook-port'], {}, '--no-webhook-port: only true/false flags have a --no- form'],
      ['a value on a negated flag', ['--no-leader-elect=true'], {}, '--no-leader-elect: takes no value'],
      ['a bad lease namespace', ['--leader-election-namespace=Operators'], {}, '--leader-election-namespace: "Operators" is not a namespace name'],
      ['a bad POD_NAMESPACE', [], { POD_NAMESPACE: 'Bad_NS' }, '--leader-election-namespace (from POD_NAMESPACE): "Bad_NS" is not a namespace name'],
      ['a bad lease name', ['--leader-election-id=Lease!'], {}, '--leader-election-id: "Lease!" is not a Kubernetes object name'],
      ['a bad duration', ['--lease-duration=15'], {}, '--lease-duration: invalid duration "15"'],
      ['a zero duration', ['--retry-period=0s'], {}, '--retry-period: "0s" must be longer than zero'],
      ['a negative duration', ['--kube-api-timeout=-1s'], {}, '--kube-api-timeout: invalid duration "-1s": it is negative'],
      ['a bad interval', ['--status-flush-interval=often'], {}, '--status-flush-interval: invalid duration "often"'],
      ['an unknown log level', ['--log-level=verbose'], {}, '--log-level: "verbose" is not one of trace, debug, info, warn, error'],
      ['an unknown component', ['--components=webhooks'], {}, '--components: "webhooks" is not one of all, controllers, receiver'],
      ['a bad byte size', ['--default-max-body-bytes=1MB'], {}, '--default-max-body-bytes: invalid byte size "1MB"'],
      ['a zero byte size', ['--default-max-body-bytes=0'], {}, '--default-max-body-bytes: "0" must be more than zero bytes'],
      ['a certificate without a key', ['--tls-cert-file=/tls/tls.crt'], {}, '--tls-key-file: required together with --tls-cert-file'],
      ['a key without a certificate', ['--tls-key-file=/tls/tls.key'], {}, '--tls-cert-file: required together with --tls-key-file'],
      ['a renew deadline longer than the lease', ['--renew-deadline=20s'], {}, '--lease-duration: must be longer than --renew-deadline'],
      ['a retry period too close to the deadline', ['--retry-period=9s'], {}, '--renew-deadline: must be longer than 1.2 × --retry-period'],
      ['a header timeout longer than the request timeout', ['--header-timeout=1m'], {}, '--header-timeout: must not be longer than --request-timeout'],
      ['two servers on one port', ['--health-port=9090'], {}, '--health-port: port 9090 is already used by --metrics-port'],
      ['the webhook port on the metrics port', ['--metrics-port=8080'], {}, '--metrics-port: port 8080 is already used by --webhook-port'],
      ['a missing value', ['--webhook-port'], {}, '--webhook-port: needs a value (--webhook-port=VALUE)'],
      ['a flag eaten as a value', ['--webhook-port', '--log-level=debug'], {}, '--webhook-port: needs a value'],
      ['a positional argument', ['run'], {}, 'unexpected argument "run": flags are written --name=value'],
      ['an option terminator', ['--'], {}, 'unexpected "--": this command takes flags only'],
      ['no external URL in a cluster', [], { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, '--external-url: required when running in a cluster'],
      ['a bad value from the environment', [], { PLANASONIX_WEBHOOK_PORT: 'eighty' }, '--webhook-port (from PLANASONIX_WEBHOOK_PORT): "eighty" is not a port number'],
    ];
    for (const [what, argv, env, expected] of cases) {
      it(`rejects ${what}`, () => {
        const problems = problemsOf(argv, env);
        expect(problems.some((p) => p.startsWith(expected)), `${JSON.stringify(problems)} has a problem starting "${expected}"`).to.equal(true);
      });
    }

    it('reports every problem at once, each naming its flag, in one error', () => {
      let error: unknown;
      try {
        parseConfig(['--webhook-port=http', '--log-level=loud', '--lease-duration=soon', '--tls-cert-file=/c'], { PLANASONIX_COMPONENTS: 'both' });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const { problems, message } = error as ConfigError;
      expect(problems.map((p) => p.split(/[ :]/)[0])).to.have.members(['--webhook-port', '--log-level', '--lease-duration', '--tls-key-file', '--components']);
      expect(message).to.match(/^invalid configuration:\n {2}- /);
      for (const problem of problems) expect(message).to.include(problem);
    });

    it('does not report a bad value a second time as a broken combination', () => {
      expect(problemsOf(['--renew-deadline=later'])).to.have.length(1);
      expect(problemsOf(['--external-url='], { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).to.deep.equal(['--external-url: needs a value, got an empty one']);
    });

    it('needs no external URL in a cluster when the process runs only the receiver', () => {
      expect(problemsOf(['--components=receiver'], { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).to.deep.equal([]);
      expect(problemsOf([], { KUBERNETES_SERVICE_HOST: '10.96.0.1', PLANASONIX_EXTERNAL_URL: 'https://hooks.example.com' })).to.deep.equal([]);
    });

    it('ignores the lease timings when leader election is off, and the webhook port when the receiver is off', () => {
      expect(problemsOf(['--no-leader-elect', '--renew-deadline=20s'])).to.deep.equal([]);
      expect(problemsOf(['--components=controllers', '--metrics-port=8080'])).to.deep.equal([]);
    });
  });

  describe('unknown flags', () => {
    it('rejects a misspelt flag and suggests the nearest one', () => {
      expect(problemsOf(['--webhok-port=80'])).to.deep.equal(['unknown flag --webhok-port; did you mean --webhook-port?']);
      expect(problemsOf(['--leader'])).to.deep.equal(['unknown flag --leader; did you mean --leader-elect?']);
      expect(problemsOf(['--no-leader-elct'])).to.deep.equal(['unknown flag --no-leader-elct; did you mean --no-leader-elect?']);
    });

    it('rejects a flag like no other without a suggestion, and does not report its value separately', () => {
      expect(problemsOf(['--verbose', 'yes', '-v'])).to.deep.equal(['unknown flag --verbose', 'unknown flag -v']);
    });
  });
});

describe('renderConfigTable', () => {
  it('has one row per option with its flag, environment variable, default and description', () => {
    const table = renderConfigTable();
    const lines = table.trim().split('\n');
    expect(lines[0]).to.equal('| Flag | Environment variable | Default | Description |');
    expect(lines).to.have.length(2 + CONFIG_OPTIONS.length);
    for (const option of CONFIG_OPTIONS) {
      const row = lines.find((l) => l.startsWith(`| \`${option.flag}\` |`));
      expect(row, option.flag).to.equal(`| \`${option.flag}\` | \`${option.env}\` | ${option.default} | ${option.description} |`);
    }
  });

  it('documents every field of the configuration, and shows the defaults users will get', () => {
    expect(CONFIG_OPTIONS.map((o) => o.key)).to.have.members(Object.keys(DEFAULTS));
    const table = renderConfigTable();
    for (const text of ['`--external-url`', '`http://127.0.0.1:8080`', '`1Mi`', '`15s`', '`$POD_NAMESPACE`, else `planasonix-system`', '`PLANASONIX_LOG_LEVEL`']) {
      expect(table).to.include(text);
    }
  });
});
