import { expect } from 'chai';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import type { JobTemplate } from '../../../../src/api/types.ts';
import {
  escapeEnvReferences,
  findParamReferences,
  substituteParams,
} from '../../../../src/controllers/pipeline-run/substitute-params.ts';

/** Kubernetes' expansion of command, args and env values (third_party/forked/golang/expansion). */
function expandLikeKubernetes(input: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next}`;
      i += 1;
    }
  }
  return out;
}

function fullTemplate(): JobTemplate {
  return {
    metadata: {
      labels: { team: 'data' },
      annotations: { 'example.com/export': 'export $(params.a)' },
    },
    spec: {
      template: {
        metadata: { annotations: { 'example.com/pod-export': '$(params.a)' } },
        spec: {
          initContainers: [
            { name: 'fetch', image: 'busybox', command: ['fetch', '$(params.a)'], args: ['--to=$(params.b)'], env: [{ name: 'A', value: '$(params.a)' }] },
          ],
          containers: [
            {
              name: 'load',
              image: 'loader:1',
              command: ['/bin/load'],
              args: ['--export', '$(params.a)', '--count=$(params.b)'],
              env: [{ name: 'EXPORT', value: 'id=$(params.a)' }, { name: 'FROM_FIELD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
            },
          ],
        },
      },
    },
  };
}

function substituted(template: JobTemplate, values: Record<string, string>, sensitive: string[] = []): JobTemplate {
  const result = substituteParams(template, values, sensitive);
  if (!result.ok) throw new Error(`expected success, got: ${result.message}`);
  return result.template;
}

type Pod = { spec: { containers: { args: string[]; command: string[]; env: { name: string; value?: string }[] }[]; initContainers: { args: string[]; command: string[]; env: { value: string }[] }[] }; metadata: { annotations: Record<string, string> } };
const podOf = (t: JobTemplate) => t.spec.template as Pod;

describe('substituteParams', () => {
  it('substitutes in command, args and env values of containers and init containers, and in annotations', () => {
    const t = substituted(fullTemplate(), { a: 'exp_1', b: '42' });
    const pod = podOf(t);
    expect(pod.spec.containers[0]!.args).to.deep.equal(['--export', 'exp_1', '--count=42']);
    expect(pod.spec.containers[0]!.env[0]).to.deep.equal({ name: 'EXPORT', value: 'id=exp_1' });
    expect(pod.spec.initContainers[0]!.command).to.deep.equal(['fetch', 'exp_1']);
    expect(pod.spec.initContainers[0]!.args).to.deep.equal(['--to=42']);
    expect(pod.spec.initContainers[0]!.env[0]!.value).to.equal('exp_1');
    expect(t.metadata!.annotations).to.deep.equal({ 'example.com/export': 'export exp_1' });
    expect(pod.metadata.annotations).to.deep.equal({ 'example.com/pod-export': 'exp_1' });
  });

  it('leaves everything else as it was written', () => {
    const t = substituted(fullTemplate(), { a: 'exp_1', b: '42' });
    const pod = podOf(t);
    expect(pod.spec.containers[0]!.command).to.deep.equal(['/bin/load']);
    expect(pod.spec.containers[0]!.env[1]).to.deep.equal({ name: 'FROM_FIELD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(t.metadata!.labels).to.deep.equal({ team: 'data' });
  });

  it('does not change the template it was given', () => {
    const template = fullTemplate();
    const before = structuredClone(template);
    substituted(template, { a: 'exp_1', b: '42' });
    expect(template).to.deep.equal(before);
  });

  const elsewhere: [string, (t: JobTemplate) => void, string][] = [
    ['an image', (t) => ((podOf(t).spec.containers[0] as unknown as { image: string }).image = 'loader:$(params.a)'), 'jobTemplate.spec.template.spec.containers[0].image'],
    ['a container name', (t) => ((podOf(t).spec.containers[0] as unknown as { name: string }).name = '$(params.a)'), 'containers[0].name'],
    ['an env var name', (t) => (podOf(t).spec.containers[0]!.env[0]!.name = 'X_$(params.a)'), 'env[0].name'],
    ['a Job label', (t) => (t.metadata!.labels = { run: '$(params.a)' }), 'jobTemplate.metadata.labels.run'],
    ['an annotation key', (t) => (t.metadata!.annotations = { '$(params.a)': 'x' }), '(a key)'],
    [
      'a volume',
      (t) => (podOf(t).spec as unknown as { volumes: unknown[] }).volumes = [{ name: 'v', hostPath: { path: '/data/$(params.a)' } }],
      'volumes[0].hostPath.path',
    ],
    [
      'a securityContext',
      (t) => ((podOf(t).spec.containers[0] as unknown as { securityContext: unknown }).securityContext = { runAsUser: '$(params.b)' }),
      'securityContext.runAsUser',
    ],
    [
      'a probe command',
      (t) => ((podOf(t).spec.containers[0] as unknown as { livenessProbe: unknown }).livenessProbe = { exec: { command: ['check', '$(params.a)'] } }),
      'livenessProbe.exec.command[1]',
    ],
  ];
  for (const [where, edit, path] of elsewhere) {
    it(`refuses a reference in ${where}, naming where it is`, () => {
      const template = fullTemplate();
      edit(template);
      const result = substituteParams(template, { a: 'exp_1', b: '42' }, []);
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.reason).to.equal('InvalidParams');
      expect(result.message).to.include(path);
      expect(result.message).to.include('substituted only in command, args, env values and annotations');
      expect(result.message).not.to.include('exp_1');
    });
  }

  it('refuses a reference to an undeclared param, naming it and where it is', () => {
    const template = fullTemplate();
    podOf(template).spec.containers[0]!.args.push('$(params.exportId)');
    const result = substituteParams(template, { a: 'exp_1', b: '42' }, []);
    expect(result).to.deep.equal({
      ok: false,
      reason: 'InvalidParams',
      message: 'jobTemplate.spec.template.spec.containers[0].args[3] references undeclared param "exportId"',
    });
  });

  it('refuses a malformed reference as undeclared instead of leaving it in the Job', () => {
    const template = fullTemplate();
    podOf(template).spec.containers[0]!.args.push('$(params.)', '$(params.a b)');
    const result = substituteParams(template, { a: 'exp_1', b: '42' }, []);
    expect(result.ok).to.equal(false);
    if (!result.ok) expect(result.message).to.include('undeclared param ""').and.to.include('undeclared param "a b"');
  });

  for (const where of ['args', 'command', 'env value', 'annotation']) {
    it(`refuses to write a sensitive param into ${where}`, () => {
      const template = fullTemplate();
      const container = podOf(template).spec.containers[0]!;
      if (where === 'args') container.args.push('--token=$(params.api_token)');
      if (where === 'command') container.command.push('$(params.api_token)');
      if (where === 'env value') container.env.push({ name: 'TOKEN', value: '$(params.api_token)' });
      if (where === 'annotation') template.metadata!.annotations!['example.com/token'] = '$(params.api_token)';
      const result = substituteParams(template, { a: 'exp_1', b: '42' }, ['api_token']);
      expect(result.ok).to.equal(false);
      if (result.ok) return;
      expect(result.reason).to.equal('InvalidParams');
      expect(result.message).to.include('sensitive param "api_token"').and.to.include('PARAM_API_TOKEN');
    });
  }

  it('turns $$(params.NAME) into the literal text $(params.NAME), declared or not', () => {
    const template = fullTemplate();
    podOf(template).spec.containers[0]!.args = ['echo', '$$(params.a) is $(params.a)', '$$(params.nothing)'];
    template.metadata!.annotations = { doc: 'write $$(params.a)' };
    const t = substituted(template, { a: 'exp_1', b: '42' });
    expect(podOf(t).spec.containers[0]!.args).to.deep.equal(['echo', '$(params.a) is exp_1', '$(params.nothing)']);
    expect(t.metadata!.annotations).to.deep.equal({ doc: 'write $(params.a)' });
  });

  it('accepts an escaped reference where nothing is substituted, leaving it untouched', () => {
    const template = fullTemplate();
    (podOf(template).spec.containers[0] as unknown as { workingDir: string }).workingDir = '/x/$$(params.a)';
    const t = substituted(template, { a: 'exp_1', b: '42' });
    expect((podOf(t).spec.containers[0] as unknown as { workingDir: string }).workingDir).to.equal('/x/$$(params.a)');
  });

  it('reports at most five problems, then how many more', () => {
    const template = fullTemplate();
    podOf(template).spec.containers[0]!.args = ['1', '2', '3', '4', '5', '6', '7'].map((n) => `$(params.u${n})`);
    const result = substituteParams(template, { a: 'exp_1', b: '42' }, []);
    expect(result.ok).to.equal(false);
    if (!result.ok) {
      expect(result.message).to.include('"u5"').and.not.to.include('"u6"');
      expect(result.message).to.match(/; and 2 more$/);
    }
  });

  it('keeps a key named __proto__ as an ordinary annotation', () => {
    const template = JSON.parse('{"metadata":{"annotations":{"__proto__":"x"}},"spec":{"template":{}}}') as JobTemplate;
    const t = substituted(template, {});
    expect(Object.keys(t.metadata!.annotations!)).to.deep.equal(['__proto__']);
  });

  describe('values cannot inject anything', () => {
    const hostile = [
      '"; rm -rf /',
      "'; DROP TABLE exports; --",
      '"\n  hostPath: /',
      'x\n---\napiVersion: v1\nkind: Pod',
      '{"a":1}',
      '], "privileged": true, "x": [',
      '$(params.b)',
      '$$(params.b)',
      '`id`',
      '${HOME}',
    ];

    for (const value of hostile) {
      it(`keeps ${JSON.stringify(value)} one string in its place`, () => {
        const original = fullTemplate();
        const t = substituted(original, { a: value, b: 'SECOND' });
        // The same shape: nothing added, nothing removed.
        expect(pathsOf(t)).to.deep.equal(pathsOf(original));
        // Annotations are not expanded by Kubernetes, so the value is there verbatim.
        expect(podOf(t).metadata.annotations['example.com/pod-export']).to.equal(value);
        // In args, what the process receives after Kubernetes' expansion is exactly the value.
        expect(expandLikeKubernetes(podOf(t).spec.containers[0]!.args[1]!, { PARAM_B: 'SECOND' })).to.equal(value);
        // And through YAML and back, nothing changes either.
        expect(parse(stringify(t))).to.deep.equal(t);
      });
    }

    it('does not substitute a reference that arrives inside a value', () => {
      const t = substituted(fullTemplate(), { a: '$(params.b)', b: 'SECOND' });
      expect(podOf(t).metadata.annotations['example.com/pod-export']).to.equal('$(params.b)');
      expect(JSON.stringify(podOf(t).spec.containers[0]!.args[1])).not.to.include('SECOND');
    });

    it("does not let Kubernetes expand an env var named in a value (a secret's, say)", () => {
      const template = fullTemplate();
      const t = substituted(template, { a: '$(PARAM_API_TOKEN)', b: '1' });
      const arg = podOf(t).spec.containers[0]!.args[1]!;
      expect(arg).to.equal('$$(PARAM_API_TOKEN)');
      expect(expandLikeKubernetes(arg, { PARAM_API_TOKEN: 'the-secret' })).to.equal('$(PARAM_API_TOKEN)');
    });

    it('for any value, the shape stays and Kubernetes hands the process exactly the value', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), fc.string(), (value, other) => {
          const original = fullTemplate();
          const t = substituted(original, { a: value, b: other });
          expect(pathsOf(t)).to.deep.equal(pathsOf(original));
          const env = { PARAM_A: 'A', PARAM_B: 'B', HOME: '/root' };
          expect(expandLikeKubernetes(podOf(t).spec.containers[0]!.args[2]!, env)).to.equal(`--count=${other}`);
          expect(expandLikeKubernetes(podOf(t).spec.containers[0]!.env[0]!.value!, env)).to.equal(`id=${value}`);
          expect(t.metadata!.annotations!['example.com/export']).to.equal(`export ${value}`);
        }),
      );
    });
  });
});

describe('escapeEnvReferences', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['$', '$$'],
    ['$$', '$$$$'],
    ['a$(B)c', 'a$$(B)c'],
    ['cost: $5', 'cost: $$5'],
  ];
  for (const [input, expected] of cases) {
    it(`escapes ${JSON.stringify(input)} as ${JSON.stringify(expected)}`, () => {
      expect(escapeEnvReferences(input)).to.equal(expected);
      expect(expandLikeKubernetes(escapeEnvReferences(input), { B: 'expanded' })).to.equal(input);
    });
  }
});

describe('findParamReferences', () => {
  it('lists each unescaped reference with its path and whether it is substituted there', () => {
    const template = fullTemplate();
    (podOf(template).spec.containers[0] as unknown as { image: string }).image = 'loader:$(params.tag)';
    podOf(template).spec.containers[0]!.args.push('$$(params.escaped)');
    const refs = findParamReferences(template);
    expect(refs).to.deep.include({ name: 'tag', path: 'jobTemplate.spec.template.spec.containers[0].image', substituted: false });
    expect(refs).to.deep.include({ name: 'b', path: 'jobTemplate.spec.template.spec.containers[0].args[2]', substituted: true });
    expect(refs).to.deep.include({ name: 'a', path: 'jobTemplate.metadata.annotations["example.com/export"]', substituted: true });
    expect(refs.map((r) => r.name)).not.to.include('escaped');
    expect(refs).to.have.length(9);
  });
});

/** Every path to a leaf or container in a JSON value, to compare shapes. */
function pathsOf(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [`${prefix}[]#${value.length}`, ...value.flatMap((v, i) => pathsOf(v, `${prefix}[${i}]`))];
  if (value !== null && typeof value === 'object') {
    return [`${prefix}{}`, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, `${prefix}.${k}`))];
  }
  return [`${prefix}:${typeof value}`];
}
