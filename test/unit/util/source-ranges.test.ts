import { expect } from 'chai';
import fc from 'fast-check';
import { clientAddress, compileSourceRanges, compileTrustedProxies } from '../../../src/util/source-ranges.ts';

// An independent reference for IPv4: compare the top `prefix` bits as unsigned integers.
function toInt(octets: number[]): number {
  return octets.reduce((n, o) => n * 256 + o, 0);
}
function inRange(ip: number[], net: number[], prefix: number): boolean {
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return Math.floor(toInt(ip) / 2 ** shift) === Math.floor(toInt(net) / 2 ** shift);
}

describe('source ranges', () => {
  const allowed = compileSourceRanges(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7']);

  it('matches IPv4 and IPv6 CIDRs and single addresses', () => {
    expect(allowed('203.0.113.9')).to.equal(true);
    expect(allowed('203.0.114.1')).to.equal(false);
    expect(allowed('2001:db8:1::5')).to.equal(true);
    expect(allowed('2001:db9::1')).to.equal(false);
    expect(allowed('198.51.100.7')).to.equal(true);
    expect(allowed('198.51.100.8')).to.equal(false);
  });

  it('treats IPv4-mapped IPv6 addresses and ranges as IPv4', () => {
    expect(allowed('::ffff:203.0.113.9')).to.equal(true);
    expect(allowed('::ffff:cb00:7109')).to.equal(true);
    expect(allowed('::ffff:8.8.8.8')).to.equal(false);
    const mappedRange = compileSourceRanges(['::ffff:10.0.0.0/104']);
    expect(mappedRange('10.20.30.40')).to.equal(true);
    expect(mappedRange('11.0.0.1')).to.equal(false);
  });

  it('denies what is not an address', () => {
    for (const junk of ['', 'localhost', '203.0.113', '0xcb.0.113.9', '203.0.113.9:80']) expect(allowed(junk), junk).to.equal(false);
  });

  it('allows everyone with an empty list, while an empty trusted-proxy list trusts no one', () => {
    expect(compileSourceRanges([])('192.0.2.1')).to.equal(true);
    expect(compileTrustedProxies([])('192.0.2.1')).to.equal(false);
  });

  it('names the invalid CIDR and the problem', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.0/33', /"10.0.0.0\/33".*at most 32/], ['2001:db8::/129', /at most 128/], ['10.0.0/8', /not an IPv4 or IPv6 address/],
      ['10.0.0.0/', /prefix length/], ['10.0.0.0/08', /prefix length/], ['example.com/8', /not an IPv4 or IPv6 address/], ['010.0.0.1/8', /not an IPv4/],
    ];
    for (const [cidr, why] of cases) expect(() => compileSourceRanges(['192.0.2.0/24', cidr]), cidr).to.throw(why);
  });

  it('agrees with a simple integer reference for random IPv4 addresses and prefixes', () => {
    const octets = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
    fc.assert(fc.property(octets, octets, fc.integer({ min: 0, max: 32 }), (ip, net, prefix) => {
      const matches = compileSourceRanges([`${net.join('.')}/${prefix}`]);
      expect(matches(ip.join('.'))).to.equal(inRange(ip, net, prefix));
      expect(matches(`::ffff:${ip.join('.')}`)).to.equal(inRange(ip, net, prefix));
      // The network's own address is always inside its range.
      expect(matches(net.join('.'))).to.equal(true);
    }), { numRuns: 3000 });
  });
});

describe('clientAddress', () => {
  const proxies = compileTrustedProxies(['10.0.0.0/8', 'fd00::/8']);

  it('is the socket peer when the peer is not a trusted proxy, whatever the header says', () => {
    expect(clientAddress('198.51.100.1', '203.0.113.9', proxies)).to.equal('198.51.100.1');
  });

  it('walks X-Forwarded-For from the right past trusted proxies', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.9', proxies)).to.equal('203.0.113.9');
    expect(clientAddress('10.0.0.1', '1.1.1.1, 203.0.113.9, 10.0.0.2', proxies)).to.equal('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.1', '2001:db8::1, fd00::5', proxies)).to.equal('2001:db8::1');
  });

  it('ignores what a client wrote on the left of the first untrusted hop (spoofing)', () => {
    expect(clientAddress('10.0.0.1', '10.9.9.9, 203.0.113.9', proxies)).to.equal('203.0.113.9');
  });

  it('stops at the last trusted hop on an unreadable entry', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.9, unknown', proxies)).to.equal('10.0.0.1');
  });

  it('reads entries with ports and gives IPv4-mapped peers in IPv4 form', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.9:4711', proxies)).to.equal('203.0.113.9');
    expect(clientAddress('10.0.0.1', '[2001:db8::1]:443', proxies)).to.equal('2001:db8::1');
    expect(clientAddress('::ffff:198.51.100.1', undefined, proxies)).to.equal('198.51.100.1');
  });
});
