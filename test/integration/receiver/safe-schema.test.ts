// A trigger author's payload.schema cannot stall the receiver: `pattern` and `patternProperties`
// run on a linear-time engine (RE2), so the classic catastrophic pattern ^(a+)+$ against a body
// built to make a backtracking engine explore 2^n paths is answered at once, while another trigger's
// delivery sent meanwhile is accepted. With a backtracking RegExp, 40 characters would take the
// single thread for hours and this test would time out.
import { expect } from 'chai';
import { createPipeline, createTrigger, deliver, type TriggerHandle } from './receiver-fixtures.ts';
import { getTrigger } from './receiver-fixtures.ts';
import { useNamespace } from '../../harness/fixtures.ts';
import { startTestOperator, type TestOperator } from '../../harness/operator.ts';
import { eventually } from '../../harness/fixtures.ts';

describe('receiver: payload schemas run in linear time (real API server)', function () {
  this.timeout(60_000);
  const ns = useNamespace('safe-schema');
  let operator: TestOperator;
  let evil: TriggerHandle;
  let bystander: TriggerHandle;

  before(async () => {
    operator = await startTestOperator();
    await createPipeline(ns());
    evil = await createTrigger(operator, ns(), 'evil-pattern', {
      payload: {
        strict: true,
        schema: {
          type: 'object',
          properties: { export_id: { type: 'string', pattern: '^(a+)+$' } },
          patternProperties: { '^x(a+)+$': { type: 'number' } },
        },
      },
    });
    bystander = await createTrigger(operator, ns(), 'bystander');
  });
  after(() => operator?.stop());

  it('answers 400 to a body built for catastrophic backtracking, and serves another trigger meanwhile', async () => {
    const attack = deliver(evil, { export_id: `${'a'.repeat(40)}!` });
    const keyAttack = deliver(evil, { export_id: 'aaaa', [`x${'a'.repeat(40)}!`]: 'not checked: the key does not match' , [`x${'a'.repeat(10)}`]: 'must be a number' });
    const other = deliver(bystander, { export_id: 'exp_bystander' });
    const [a, k, o] = await Promise.all([attack, keyAttack, other]);
    expect(a.status, a.text).to.equal(400);
    expect(a.text).to.include('must match pattern');
    expect(k.status, k.text).to.equal(400);
    expect(k.text).to.include('must be number');
    expect(o.status, o.text).to.equal(202);
  });

  it('still accepts what the pattern allows', async () => {
    const ok = await deliver(evil, { export_id: 'a'.repeat(10_000) });
    expect(ok.status, ok.text).to.equal(202);
  });

  it('marks a trigger whose pattern the linear-time engine cannot run (look-ahead) not Ready, saying why', async () => {
    await createTrigger(
      operator,
      ns(),
      'lookahead',
      { payload: { strict: true, schema: { type: 'object', properties: { export_id: { type: 'string', pattern: '^(?=exp_)' } } } } },
      { state: 'not-ready' },
    );
    const trigger = await eventually(async () => {
      const t = await getTrigger(ns(), 'lookahead');
      return t.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ? t : undefined;
    });
    const ready = trigger.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.reason).to.equal('InvalidSpec');
    expect(ready.message).to.include('spec.payload.schema');
  });
});
