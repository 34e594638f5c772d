/**
 * The Host allowlist: keyway answers only for names it knows. Tailnet identity is
 * ambient (like a cookie that every request carries), so without this a web page on
 * `rebind.attacker.example`, whose DNS the attacker points at 127.0.0.1 or at the
 * gateway's tailnet IP, would be same-origin with keyway in the victim's browser: it
 * could read `/api/whoami`'s CSRF token and then the configuration. DNS rebinding needs a
 * name the attacker controls, so every name keyway answers for is listed here, and any
 * other `Host` is refused before the caller is identified.
 *
 * Known names: `localhost` (and `*.localhost`, which resolve to loopback by RFC 6761),
 * loopback addresses, the listen address (every local interface address when listening
 * on the unspecified address), the node's MagicDNS names and tailnet IPs (from tailscaled,
 * when it answers), and the operator's `--host-name` names.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

export class HostAllowlist {
  private readonly names = new Set<string>();

  /**
   * `listen` is the address keyway listens on (an IP, a name, or `unix:PATH`);
   * `extra` the operator's `--host-name` values.
   */
  constructor(listen: string, extra: readonly string[]) {
    for (const name of ['localhost', '127.0.0.1', '::1']) this.names.add(name);
    if (!listen.startsWith('unix:')) {
      const bare = stripBrackets(listen).toLowerCase();
      if (bare === '0.0.0.0' || bare === '::' || bare === '') this.addInterfaceAddresses();
      else this.names.add(bare);
    }
    for (const name of extra) this.add(name);
  }

  /** add allows one more name or address (MagicDNS names arrive after start). */
  add(name: string): void {
    const n = normalise(name);
    if (n !== '') this.names.add(n);
  }

  /** list returns the allowed names, for the startup log and error messages. */
  list(): string[] {
    return [...this.names].sort();
  }

  /**
   * allows reports whether a request's `Host` header names this gateway. A request
   * without one (HTTP/1.0, some health checkers) is allowed: browsers always send Host.
   */
  allows(hostHeader: string | undefined): boolean {
    if (hostHeader === undefined || hostHeader === '') return true;
    const host = hostOf(hostHeader);
    if (this.names.has(host)) return true;
    // RFC 6761: localhost and its subdomains are loopback and never resolve elsewhere.
    if (host.endsWith('.localhost')) return true;
    // All of 127.0.0.0/8 is loopback; only this machine can be behind such an address.
    return host.startsWith('127.') && isIP(host) === 4;
  }

  private addInterfaceAddresses(): void {
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) this.names.add(a.address.toLowerCase().split('%')[0]!);
    }
  }
}

/** hostOf returns the lower-case host of a Host header, without port or IPv6 brackets. */
export function hostOf(hostHeader: string): string {
  let h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && h.indexOf(':') === colon) h = h.slice(0, colon);
  // A fully qualified name may end in a dot (`node.tailnet.ts.net.`): the same name.
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

function normalise(name: string): string {
  const n = stripBrackets(name.trim().toLowerCase());
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function stripBrackets(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** The parts of tailscaled's `/localapi/v0/status` answer that name this node. */
export interface NodeStatus {
  Self?: { DNSName?: string; HostName?: string; TailscaleIPs?: string[] };
  CertDomains?: string[];
  /** The tailnet this node is in (hooks' `tailnet_name`). */
  CurrentTailnet?: { Name?: string; MagicDNSSuffix?: string };
}

/**
 * tailnetNames returns the names and addresses a tailnet caller may use to reach this
 * node: its MagicDNS name (`node.tailnet.ts.net`), the short name MagicDNS also resolves
 * (`node`), its tailnet IPs and its HTTPS certificate domains (`tailscale serve`).
 */
export function tailnetNames(status: NodeStatus): string[] {
  const out: string[] = [];
  const dns = status.Self?.DNSName;
  if (typeof dns === 'string' && dns !== '') {
    const fqdn = normalise(dns);
    out.push(fqdn);
    const short = fqdn.split('.')[0];
    if (short) out.push(short);
  }
  for (const ip of status.Self?.TailscaleIPs ?? []) if (typeof ip === 'string') out.push(ip);
  for (const d of status.CertDomains ?? []) if (typeof d === 'string') out.push(d);
  return out.map(normalise).filter((n) => n !== '');
}
