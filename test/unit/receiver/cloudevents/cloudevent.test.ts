// The CloudEvents HTTP binding read by its spec, checked against what the `cloudevents` SDK (the
// CloudEvents project's own JavaScript implementation) sends in binary and structured mode.
import { expect } from 'chai';
import { CloudEvent, HTTP } from 'cloudevents';
import {
  cloudEventDeliveryKey,
  isBinaryCloudEvent,
  isStructuredCloudEvent,
  readBinaryCloudEvent,
  readStructuredCloudEvent,
} from '../../../../src/receiver/cloudevents/cloudevent.ts';

const EVENT = new CloudEvent({
  id: 'evt-1',
  type: 'com.example.export.completed',
  source: '/billing/exports',
  subject: 'exp_8f3c21',
  time: '2026-01-01T10:00:00.000Z',
  tenant: 'acme',
  data: { export_id: 'exp_8f3c21', record_count: 3 },
});

const lower = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));

describe('CloudEvents HTTP binding', () => {
  it("reads the SDK's binary mode: attributes from ce-* headers, datacontenttype from Content-Type", () => {
    const message = HTTP.binary(EVENT);
    const headers = lower(message.headers);
    expect(isBinaryCloudEvent(headers)).to.equal(true);
    const result = readBinaryCloudEvent(headers);
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.event.mode).to.equal('binary');
    expect(result.event.attributes).to.include({ specversion: '1.0', id: 'evt-1', type: 'com.example.export.completed', source: '/billing/exports', subject: 'exp_8f3c21', tenant: 'acme' });
    expect(result.event.attributes.datacontenttype).to.match(/^application\/json/);
    expect(cloudEventDeliveryKey(result.event)).to.equal('ce:/billing/exports evt-1');
  });

  it("reads the SDK's structured mode: attributes and data from the JSON event", () => {
    const message = HTTP.structured(EVENT);
    expect(isStructuredCloudEvent(lower(message.headers)['content-type'])).to.equal(true);
    const result = readStructuredCloudEvent(JSON.parse(String(message.body)));
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.event.mode).to.equal('structured');
    expect(result.event.attributes).to.include({ id: 'evt-1', source: '/billing/exports', subject: 'exp_8f3c21', tenant: 'acme' });
    expect(result.event.data).to.deep.equal({ export_id: 'exp_8f3c21', record_count: 3 });
  });

  it('decodes percent-encoded header values, as the binding requires for non-ASCII', () => {
    const result = readBinaryCloudEvent({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-subject': 'Gr%C3%BC%C3%9Fe' });
    expect(result.ok && result.event.attributes.subject).to.equal('Grüße');
  });

  it('decodes JSON data_base64 when datacontenttype says JSON', () => {
    const event = { specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/json', data_base64: Buffer.from('{"a":1}').toString('base64') };
    const result = readStructuredCloudEvent(event);
    expect(result.ok && result.event.data).to.deep.equal({ a: 1 });
  });

  for (const [why, headers] of [
    ['no ce-id', { 'ce-specversion': '1.0', 'ce-source': '/s', 'ce-type': 't' }],
    ['no ce-source', { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-type': 't' }],
    ['no ce-type', { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s' }],
    ['specversion 0.3', { 'ce-specversion': '0.3', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' }],
    ['an attribute name with a dash', { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-my-ext': 'x' }],
    ['broken percent-encoding', { 'ce-specversion': '1.0', 'ce-id': '%E0%A4%A', 'ce-source': '/s', 'ce-type': 't' }],
    ['a source with whitespace', { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s x', 'ce-type': 't' }],
  ] as const) {
    it(`refuses a binary event with ${why}`, () => {
      const result = readBinaryCloudEvent(headers);
      expect(result.ok).to.equal(false);
      expect(!result.ok && result.code).to.equal('invalid_cloudevent');
    });
  }

  for (const [why, event] of [
    ['a JSON array', [{ specversion: '1.0', id: '1', source: '/s', type: 't' }]],
    ['no id', { specversion: '1.0', source: '/s', type: 't' }],
    ['an object attribute', { specversion: '1.0', id: '1', source: '/s', type: 't', subject: { a: 1 } }],
    ['data and data_base64', { specversion: '1.0', id: '1', source: '/s', type: 't', data: 1, data_base64: 'AQ==' }],
    ['no specversion', { id: '1', source: '/s', type: 't' }],
  ] as const) {
    it(`refuses a structured event with ${why}`, () => {
      expect(readStructuredCloudEvent(event).ok).to.equal(false);
    });
  }
});
