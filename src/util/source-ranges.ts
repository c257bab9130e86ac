// Which client addresses a trigger accepts (spec.allowedSourceRanges), and which address is the
// client's when the request came through trusted proxies.
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/**
 * Compiles CIDRs (IPv4 or IPv6; a bare address means that one host) into a matcher. An empty
 * list allows every address. IPv4-mapped IPv6 addresses match as the IPv4 address they carry.
 * An unparseable address never matches. Throws a clear error naming an invalid CIDR.
 */
export function compileSourceRanges(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => true;
  return compileMatcher(cidrs);
}

/** Like compileSourceRanges, but an empty list trusts no proxy at all. */
export function compileTrustedProxies(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  return compileMatcher(cidrs);
}

function compileMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const v4: Range[] = [];
  const v6: Range[] = [];
  for (const cidr of cidrs) {
    const range = parseRange(cidr);
    (range[0].kind() === 'ipv4' ? v4 : v6).push(range);
  }
  return (ip) => {
    const address = parseAddress(ip);
    if (address === undefined) return false;
    // ipaddr's match() compares the network bits, so host bits set in a CIDR are ignored, as Go does.
    return (address.kind() === 'ipv4' ? v4 : v6).some((range) => address.match(range));
  };
}

/**
 * One CIDR (or a bare address, meaning that host) in canonical form, "10.0.0.0/8" or "2001:db8::/32";
 * throws a clear error naming what is wrong. The same reading the matchers use.
 */
export function normalizeCidr(cidr: string): string {
  const [address, prefix] = parseRange(cidr);
  return `${address.toString()}/${prefix}`;
}

function parseRange(cidr: string): Range {
  const text = cidr.trim();
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1);
  const address = parseStrictAddress(addressText);
  if (address === undefined) throw new Error(`invalid source range ${JSON.stringify(cidr)}: ${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`);
  const bits = address.kind() === 'ipv4' ? 32 : 128;
  if (prefixText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    throw new Error(`invalid source range ${JSON.stringify(cidr)}: the prefix length after "/" must be a number from 0 to ${bits}`);
  }
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) throw new Error(`invalid source range ${JSON.stringify(cidr)}: the prefix length must be at most ${bits}`);
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is an IPv4 range, since that is how clients are compared.
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [address, prefix];
}

// Only dotted-quad IPv4: ipaddr.js also reads "10.1" or "0x0a.1", which nobody means in a CIDR.
function parseStrictAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** Parses a client address, unwrapping IPv4-mapped IPv6; undefined when it is not an address. */
function parseAddress(text: string): Address | undefined {
  const address = parseStrictAddress(text);
  if (address?.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return (address as ipaddr.IPv6).toIPv4Address();
  return address;
}

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy, in which case
 * X-Forwarded-For is walked from the right past every trusted proxy. A header from an untrusted
 * peer is ignored, and an unreadable entry stops the walk at the last trusted hop (fail closed).
 */
export function clientAddress(socketAddress: string, forwardedFor: string | undefined, trustedProxies: (ip: string) => boolean): string {
  let current = normalizeAddress(socketAddress) ?? socketAddress;
  if (forwardedFor === undefined) return current;
  const hops = forwardedFor.split(',').reverse();
  for (const hop of hops) {
    if (!trustedProxies(current)) break;
    const next = normalizeAddress(stripPort(hop.trim()));
    if (next === undefined) break;
    current = next;
  }
  return current;
}

function normalizeAddress(text: string): string | undefined {
  return parseAddress(text)?.toString();
}

// Some proxies append "1.2.3.4:5678" or "[2001:db8::1]:443".
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::[0-9]+)?$/.exec(hop);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^([0-9.]+):[0-9]+$/.exec(hop);
  return v4WithPort ? v4WithPort[1]! : hop;
}
