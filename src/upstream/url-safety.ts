/**
 * Where keyway may connect on an operator's or a caller's behalf (MCP servers, connectors,
 * registrations). A server that keyway calls with its own credentials is a way to make
 * keyway send requests: pointed at a cloud's metadata service it would hand out the
 * machine's cloud credentials; pointed at link-local addresses it would reach what only
 * this machine should; pointed at keyway itself it would loop. Loopback, private
 * networks and the tailnet are where MCP servers normally live, so they stay allowed.
 *
 * Checked twice: on the URL at validation and registration (unsafeUrlReason), and on
 * every address a name resolves to when connecting (unsafeAddressReason), since a name
 * can resolve anywhere.
 */
// Pure, without node: modules: the dashboard runs the validator in the browser too.
/** isIP returns 4 or 6 for an address as the URL parser and DNS write them, else 0. */
function isIP(s: string): 0 | 4 | 6 {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split('.').every((p) => Number(p) <= 255) ? 4 : 0;
  return /^[0-9a-f:.]+$/i.test(s) && s.includes(':') && s.split('::').length <= 2 ? 6 : 0;
}

/** keyway's own listen address: a URL on its port and one of its names is keyway itself. */
export interface SelfAddress {
  port: number;
  /** Names and addresses keyway answers for (listen host, its tailnet names). */
  hosts: readonly string[];
}

/** Host names that are cloud metadata services (GCP, AWS). */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/**
 * unsafeUrlReason returns why keyway must not connect to `url`, or undefined when it may.
 * `url` must already be a parsed http(s) URL.
 */
export function unsafeUrlReason(url: URL, self?: SelfAddress): string | undefined {
  const host = bareHost(url.hostname);
  if (METADATA_NAMES.has(host)) return `${host} is a cloud metadata service`;
  const address = isIP(host) !== 0 ? unsafeAddressReason(host) : undefined;
  if (address) return address;
  if (self && effectivePort(url) === self.port && isSelfHost(host, self)) return `it is keyway's own listen address (port ${self.port})`;
  return undefined;
}

/** unsafeAddressReason returns why keyway must not connect to an IP address, or undefined. */
export function unsafeAddressReason(ip: string): string | undefined {
  const v4 = ipv4Of(ip);
  if (v4 !== undefined) {
    if (v4 === 0xa9fea9fe) return `${ip} is a cloud metadata service`;
    if (v4 === 0x646464c8) return `${ip} is a cloud metadata service`; // 100.100.100.200 (Alibaba)
    if (v4 >>> 16 === 0xa9fe) return `${ip} is a link-local address`; // 169.254.0.0/16
    if (v4 === 0) return `${ip} is the unspecified address`;
    return undefined;
  }
  const words = ipv6Words(ip);
  if (!words) return undefined;
  if ((words[0]! & 0xffc0) === 0xfe80) return `${ip} is a link-local address`; // fe80::/10
  if (words.every((w) => w === 0)) return `${ip} is the unspecified address`;
  // fd00:ec2::254, the AWS metadata service over IPv6
  if (words[0] === 0xfd00 && words[1] === 0x0ec2 && words.slice(2, 7).every((w) => w === 0) && words[7] === 0x254) return `${ip} is a cloud metadata service`;
  return undefined;
}

function isSelfHost(host: string, self: SelfAddress): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = ipv4Of(host);
  if (v4 !== undefined && v4 >>> 24 === 127) return true;
  if (host === '::1') return true;
  return self.hosts.some((h) => bareHost(h.toLowerCase()) === host);
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function bareHost(hostname: string): string {
  const h = hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h.replace(/\.$/, '');
}

/** ipv4Of returns a dotted IPv4 address (or an IPv4-mapped IPv6 one) as a number. */
function ipv4Of(ip: string): number | undefined {
  if (isIP(ip) === 4) {
    const parts = ip.split('.').map(Number);
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  }
  const words = ipv6Words(ip);
  // ::ffff:a.b.c.d, which the URL parser writes as ::ffff:xxxx:xxxx
  if (words && words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return ((words[6]! << 16) | words[7]!) >>> 0;
  return undefined;
}

function ipv6Words(ip: string): number[] | undefined {
  if (isIP(ip) !== 6) return undefined;
  let text = ip;
  const dotted = text.lastIndexOf(':');
  if (text.includes('.', dotted)) {
    // A trailing dotted IPv4 part: turn it into two hex words.
    const v4 = text.slice(dotted + 1).split('.').map(Number);
    text = `${text.slice(0, dotted)}:${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array(zeros).fill('0'), ...right].map((w) => parseInt(w, 16));
}
