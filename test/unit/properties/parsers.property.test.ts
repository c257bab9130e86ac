// Property-based tests for the parsers that had only example-based tests: byte quantities, the
// strict hex and base64 decoders, IPv6 and IPv4-mapped source ranges and X-Forwarded-For walking,
// the lease's MicroTime, Go durations on arbitrary input, and the operator's flags and environment.
// (Signature headers, JSON Pointer, param coercion, IPv4 CIDR matching and the Go-duration round
// trip already have properties next to their example tests.)
import { expect } from 'chai';
import fc from 'fast-check';
import { CONFIG_OPTIONS, ConfigError, parseConfig, type Config } from '../../../src/config/config.ts';
import { formatMicroTime, parseMicroTime } from '../../../src/controller-runtime/leader-election.ts';
import { formatDuration, parseDuration } from '../../../src/util/duration.ts';
import { parseByteQuantity } from '../../../src/kube/byte-quantity.ts';
import { clientAddress, compileSourceRanges, compileTrustedProxies } from '../../../src/util/source-ranges.ts';
import { decodeBase64, decodeHex, isBase64 } from '../../../src/util/strict-encoding.ts';

const MULTIPLIERS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

describe('parser properties', () => {
  describe('byte quantities', () => {
    it('read back n followed by any suffix as n times its multiplier', () => {
      fc.assert(
        fc.property(fc.constantFrom(...Object.keys(MULTIPLIERS)), fc.nat({ max: 2 ** 40 }), (suffix, n) => {
          const bytes = n * MULTIPLIERS[suffix]!;
          fc.pre(Number.isSafeInteger(bytes));
          expect(parseByteQuantity(`${n}${suffix}`)).to.equal(bytes);
          // Leading zeros change nothing.
          expect(parseByteQuantity(`00${n}${suffix}`)).to.equal(bytes);
        }),
        { numRuns: 2_000 },
      );
    });

    it('accept exactly the documented grammar, and say so in a bounded message otherwise', () => {
      const grammar = /^[0-9]+(Ki|Mi|Gi|k|M|G)?$/;
      const near = fc.tuple(fc.stringMatching(/^[-+ .0-9e]{0,6}$/), fc.constantFrom('', 'k', 'K', 'M', 'm', 'G', 'Ki', 'ki', 'Mi', 'MI', 'Gi', 'Ti', 'B', 'MiB', ' ', 'i')).map(([a, b]) => a + b);
      fc.assert(
        fc.property(fc.oneof(near, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 20 })), (text) => {
          let result: number | Error;
          try {
            result = parseByteQuantity(text);
          } catch (e) {
            result = e as Error;
          }
          if (result instanceof Error) {
            expect(result.message).to.match(/^invalid byte size /);
            expect(result.message.length, 'the input is quoted at most 64 characters long').to.be.below(300);
            if (grammar.test(text)) expect(result.message).to.match(/too large/);
          } else {
            expect(grammar.test(text), JSON.stringify(text)).to.equal(true);
            expect(Number.isSafeInteger(result) && result >= 0).to.equal(true);
          }
        }),
        { numRuns: 3_000 },
      );
    });

    it('take numbers as bytes only when they are safe non-negative integers', () => {
      fc.assert(
        fc.property(fc.oneof(fc.double(), fc.integer(), fc.maxSafeNat()), (n) => {
          const ok = Number.isSafeInteger(n) && n >= 0;
          if (ok) expect(parseByteQuantity(n)).to.equal(n);
          else expect(() => parseByteQuantity(n)).to.throw(/non-negative whole number/);
        }),
        { numRuns: 1_000 },
      );
    });
  });

  describe('strict hex and base64', () => {
    it('decode what Buffer encodes, in either hex case, and only at the expected length', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), fc.nat({ max: 100 }), (bytes, upper, expected) => {
          const hex = Buffer.from(bytes).toString('hex');
          const text = upper ? hex.toUpperCase() : hex;
          const decoded = decodeHex(text, expected);
          if (expected === bytes.length) expect(decoded).to.deep.equal(Buffer.from(bytes));
          else expect(decoded).to.equal(undefined);
        }),
        { numRuns: 1_000 },
      );
    });

    it('refuse hex with any character outside [0-9a-fA-F], wherever it is', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[0-9a-fA-F]/.test(c)), (bytes, at, junk) => {
          const hex = Buffer.from(bytes).toString('hex');
          const i = at % hex.length;
          const broken = hex.slice(0, i) + junk + hex.slice(i + 1);
          expect(decodeHex(broken, bytes.length)).to.equal(undefined);
        }),
        { numRuns: 1_000 },
      );
    });

    it('decode canonical base64 back to the bytes, optionally checking the length', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
          const text = Buffer.from(bytes).toString('base64');
          expect(isBase64(text)).to.equal(true);
          expect(decodeBase64(text)).to.deep.equal(Buffer.from(bytes));
          expect(decodeBase64(text, bytes.length)).to.deep.equal(Buffer.from(bytes));
          expect(decodeBase64(text, bytes.length + 1)).to.equal(undefined);
        }),
        { numRuns: 1_000 },
      );
    });

    it('accept a string only if Buffer reads all of it: same bytes, same length, nothing skipped', () => {
      const alphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n*'.split(''));
      fc.assert(
        fc.property(fc.string({ unit: alphabet, maxLength: 24 }), (text) => {
          const decoded = decodeBase64(text);
          if (decoded === undefined) return;
          // Every character counted: re-encoding gives a string of the same length and the same
          // first characters; only the unused bits of the last one may differ (RFC 4648 3.5 lets a
          // decoder ignore them, and Buffer does).
          const again = decoded.toString('base64');
          expect(again.length).to.equal(text.length);
          const unpadded = text.replace(/=+$/, '');
          expect(again.slice(0, Math.max(0, unpadded.length - 1))).to.equal(unpadded.slice(0, -1));
          expect(Buffer.from(again, 'base64')).to.deep.equal(decoded);
        }),
        { numRuns: 3_000 },
      );
    });
  });

  describe('source ranges, IPv6 and IPv4-mapped', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const ipv6 = fc.array(group, { minLength: 8, maxLength: 8 });
    const text6 = (groups: number[]) => groups.map((g) => g.toString(16)).join(':');
    const big = (groups: number[]) => groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n);
    const inRange6 = (ip: number[], net: number[], prefix: number) => prefix === 0 || big(ip) >> BigInt(128 - prefix) === big(net) >> BigInt(128 - prefix);

    it('agree with a BigInt reference for random IPv6 addresses and prefixes', () => {
      fc.assert(
        fc.property(ipv6, ipv6, fc.integer({ min: 0, max: 128 }), fc.boolean(), (ip, net, prefix, near) => {
          // Half the time the address shares the network's first bits, so that matches happen.
          const address = near ? [...net.slice(0, 4), ...ip.slice(4)] : ip;
          // IPv4-mapped networks and addresses are compared as IPv4: covered below.
          fc.pre(!(big(address) >> 32n === 0xffffn) && !(big(net) >> 32n === 0xffffn));
          const matches = compileSourceRanges([`${text6(net)}/${prefix}`]);
          expect(matches(text6(address))).to.equal(inRange6(address, net, prefix));
        }),
        { numRuns: 2_000 },
      );
    });

    it('match an IPv4 address and its IPv4-mapped IPv6 form alike, against IPv4 and mapped ranges', () => {
      const octets = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
      fc.assert(
        fc.property(octets, octets, fc.integer({ min: 0, max: 32 }), fc.boolean(), (ip, net, prefix, mappedRange) => {
          const range = mappedRange ? `::ffff:${net.join('.')}/${96 + prefix}` : `${net.join('.')}/${prefix}`;
          const matches = compileSourceRanges([range]);
          const v4 = ip.join('.');
          const hex = `${((ip[0]! << 8) | ip[1]!).toString(16)}:${((ip[2]! << 8) | ip[3]!).toString(16)}`;
          expect(matches(`::ffff:${v4}`)).to.equal(matches(v4));
          expect(matches(`::ffff:${hex}`)).to.equal(matches(v4));
        }),
        { numRuns: 2_000 },
      );
    });

    it('never match what is not an address, and never throw on a client address', () => {
      const matches = compileSourceRanges(['0.0.0.0/0', '::/0']);
      fc.assert(
        fc.property(fc.string({ maxLength: 60 }), (text) => {
          const result = matches(text);
          expect(typeof result).to.equal('boolean');
          if (result) expect(/^[0-9.]+$/.test(text) || text.includes(':'), JSON.stringify(text)).to.equal(true);
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('X-Forwarded-For', () => {
    const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }).map((o) => o.join('.'));
    const hop = fc.oneof(v4, v4.map((a) => `${a}:8443`), fc.constant('unknown'), fc.constant('[2001:db8::1]:443'), fc.string({ maxLength: 12 }));

    it('is ignored unless the socket peer is a trusted proxy', () => {
      const none = compileTrustedProxies([]);
      fc.assert(
        fc.property(v4, fc.array(hop, { maxLength: 6 }), (peer, hops) => {
          expect(clientAddress(peer, hops.join(', '), none)).to.equal(peer);
          expect(clientAddress(peer, undefined, none)).to.equal(peer);
        }),
        { numRuns: 1_000 },
      );
    });

    it('yields the first untrusted hop from the right, or stops at the last trusted one', () => {
      const trusted = compileTrustedProxies(['10.0.0.0/8']);
      const proxy = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 3, maxLength: 3 }).map((o) => `10.${o.join('.')}`);
      fc.assert(
        fc.property(proxy, fc.array(fc.oneof(proxy, v4), { maxLength: 6 }), (peer, hops) => {
          const result = clientAddress(peer, hops.join(','), trusted);
          // Reference: walk from the right while the current address is trusted.
          let current = peer;
          for (const h of [...hops].reverse()) {
            if (!trusted(current)) break;
            current = h;
          }
          expect(result).to.equal(current);
          // A spoofed entry on the left of an untrusted hop never wins.
          if (hops.some((h) => !trusted(h))) expect(trusted(result)).to.equal(false);
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('lease MicroTime', () => {
    it('round-trips every millisecond time, and reads 0 to 9 fractional digits', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }), fc.integer({ min: 0, max: 9 }), (ms, digits) => {
          const text = formatMicroTime(ms);
          expect(text).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
          expect(parseMicroTime(text)).to.equal(ms);
          const fraction = String(ms % 1000).padStart(3, '0').padEnd(9, '7').slice(0, digits);
          const other = new Date(ms - (ms % 1000)).toISOString().replace(/\.\d{3}Z$/, digits ? `.${fraction}Z` : 'Z');
          expect(parseMicroTime(other)).to.equal(ms - (ms % 1000) + (digits ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0));
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('Go durations on arbitrary input', () => {
    it('either parse to a non-negative finite number that formats and parses back, or throw a bounded message', () => {
      const piece = fc.tuple(fc.stringMatching(/^[0-9]{0,4}(\.[0-9]{0,3})?$/), fc.constantFrom('ns', 'us', 'µs', 'μs', 'ms', 's', 'm', 'h', 'd', 'x', '', ' ')).map(([n, u]) => n + u);
      fc.assert(
        fc.property(fc.oneof(fc.array(piece, { maxLength: 4 }).map((p) => p.join('')), fc.string({ maxLength: 200 }), fc.constant('+0')), (text) => {
          let ms: number;
          try {
            ms = parseDuration(text);
          } catch (e) {
            expect((e as Error).message).to.match(/^invalid duration /);
            expect((e as Error).message.length).to.be.below(250);
            return;
          }
          expect(Number.isFinite(ms) && ms >= 0, JSON.stringify(text)).to.equal(true);
          expect(Math.abs(parseDuration(formatDuration(ms)) - ms)).to.be.below(1e-6);
        }),
        { numRuns: 5_000 },
      );
    });
  });

  describe('operator flags and environment', () => {
    /** A valid value for each option, as text, with the value parseConfig must return. */
    const values: { [K in keyof Config]?: fc.Arbitrary<[string, Config[K]]> } = {
      webhookPort: fc.integer({ min: 1, max: 65535 }).map((p) => [String(p), p]),
      namespaces: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), { maxLength: 3 }).map((n) => [n.join(','), n]),
      logLevel: fc.constantFrom('debug', 'info', 'warn', 'error').map((l) => [l, l as Config['logLevel']]),
      // At most --max-body-bytes (default 4Mi), which the default may not exceed.
      defaultMaxBodyBytes: fc
        .tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('', 'Ki', 'Mi', 'k'))
        .map(([n, s]): [string, number] => [`${n}${s}`, n * MULTIPLIERS[s]!])
        .filter(([, bytes]) => bytes <= 4 * 1024 * 1024),
      kubeApiTimeoutMs: fc.integer({ min: 1, max: 10 * 60_000 }).map((ms) => [formatDuration(ms), ms]),
      statusFlushIntervalMs: fc.integer({ min: 1, max: 60 * 60_000 }).map((ms) => [formatDuration(ms), ms]),
      leaderElect: fc.constantFrom(['true', true], ['false', false], ['TRUE', true], ['0', false], ['1', true]) as fc.Arbitrary<[string, boolean]>,
      components: fc.constantFrom('all', 'controllers', 'receiver').map((c) => [c, c as Config['components']]),
      trustedProxies: fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), { maxLength: 3 }).map((ips) => {
        const cidrs = [...new Set(ips.map((o) => `${o.join('.')}/32`))];
        return [cidrs.map((c) => c.replace(/\/32$/, '')).join(','), cidrs];
      }),
    };
    const keys = Object.keys(values) as (keyof Config)[];
    const flagOf = (key: keyof Config) => CONFIG_OPTIONS.find((o) => o.key === key)!;

    it('read any valid value of any option from a flag (either form) or the environment, the flag winning', () => {
      const pick = fc.subarray(keys, { minLength: 1 }).chain((chosen) =>
        fc.tuple(
          fc.constant(chosen),
          fc.tuple(...chosen.map((k) => values[k] as fc.Arbitrary<[string, unknown]>)),
          fc.array(fc.constantFrom('equals', 'space', 'env', 'both'), { minLength: chosen.length, maxLength: chosen.length }),
        ),
      );
      fc.assert(
        fc.property(pick, ([chosen, texts, forms]) => {
          const argv: string[] = [];
          const env: Record<string, string> = {};
          chosen.forEach((key, i) => {
            const { flag, env: name } = flagOf(key);
            const [text] = texts[i]!;
            const form = forms[i]!;
            if (form === 'equals' || form === 'both') argv.push(`${flag}=${text}`);
            // A list may be empty: "--flag value" cannot carry an empty value. A true/false flag
            // takes a separate value only when it is spelt true or false ("--leader-elect 1" is a
            // flag and a stray argument), so 1 and 0 are attached.
            const attach = text === '' || (key === 'leaderElect' && !/^(true|false)$/i.test(text));
            if (form === 'space') argv.push(...(attach ? [`${flag}=${text}`] : [flag, text]));
            if (form === 'env' && text !== '') env[name] = text;
            if (form === 'both') env[name] = key === 'logLevel' ? 'nonsense-that-must-not-be-read' : 'also-ignored';
          });
          const config = parseConfig(argv, env);
          chosen.forEach((key, i) => {
            const [text, value] = texts[i]!;
            if (forms[i] === 'env' && text === '') return; // an empty variable counts as unset
            expect(config[key], `${key} from ${forms[i]} ${JSON.stringify(text)}`).to.deep.equal(value);
          });
        }),
        { numRuns: 1_000 },
      );
    });

    it('never throw anything but a ConfigError, whose every problem names a flag, for arbitrary argv and environment', () => {
      const names = CONFIG_OPTIONS.map((o) => o.flag);
      const arg = fc.oneof(
        fc.constantFrom(...names).chain((f) => fc.oneof(fc.constant(f), fc.string({ maxLength: 20 }).map((v) => `${f}=${v}`), fc.constant(f.replace('--', '--no-')))),
        fc.string({ maxLength: 20 }),
        fc.constantFrom('--', '-x', '--no-', '--=', '--leader', '--webhook-port'),
      );
      const envName = fc.constantFrom(...CONFIG_OPTIONS.map((o) => o.env), 'POD_NAMESPACE', 'KUBERNETES_SERVICE_HOST', 'PLANASONIX_NOPE');
      fc.assert(
        fc.property(fc.array(arg, { maxLength: 8 }), fc.dictionary(envName, fc.string({ maxLength: 20 }), { maxKeys: 4 }), (argv, env) => {
          try {
            parseConfig(argv, env);
          } catch (e) {
            expect(e, String(e)).to.be.instanceOf(ConfigError);
            for (const problem of (e as ConfigError).problems) expect(problem, problem).to.match(/^(--[a-z]|unknown flag|unexpected )/);
          }
        }),
        { numRuns: 2_000 },
      );
    });
  });
});
