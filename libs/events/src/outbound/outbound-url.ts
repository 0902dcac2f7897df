import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** The `code` of the error a guarded lookup fails with, so a caller can tell "refused by policy" from a network error. */
export const OUTBOUND_REFUSED = 'EOUTBOUNDREFUSED';

const ranges = (entries: [string, number][]) => {
  const list = new BlockList();
  for (const [network, prefix] of entries) list.addSubnet(network, prefix, network.includes(':') ? 'ipv6' : 'ipv4');
  return list;
};

// BlockList matches an IPv4-mapped IPv6 address (::ffff:127.0.0.1) against the IPv4 rules too.
const REFUSED: [kind: string, list: BlockList][] = [
  [
    'an unspecified',
    ranges([
      ['0.0.0.0', 8],
      ['::', 128],
    ]),
  ],
  [
    'a loopback',
    ranges([
      ['127.0.0.0', 8],
      ['::1', 128],
    ]),
  ],
  [
    'a private',
    ranges([
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
      ['100.64.0.0', 10],
      ['fc00::', 7],
    ]),
  ],
  [
    'a link-local',
    ranges([
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ]),
  ],
  [
    'a multicast',
    ranges([
      ['224.0.0.0', 4],
      ['ff00::', 8],
    ]),
  ],
  [
    'a reserved',
    ranges([
      ['192.0.0.0', 24],
      ['192.0.2.0', 24],
      ['198.18.0.0', 15],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
      ['240.0.0.0', 4],
      ['::', 96],
      ['64:ff9b:1::', 48],
      ['100::', 64],
      ['2001:db8::', 32],
      ['fec0::', 10],
    ]),
  ],
];

/** The 16-bit groups of an IPv6 address in text form (with `::` and an optional trailing dotted quad). */
function ipv6Groups(address: string): number[] {
  const [head, tail = ''] = address.split('::');
  const part = (s: string) =>
    s
      ? s
          .split(':')
          .flatMap((g) =>
            g.includes('.')
              ? ((o) => [(o[0] << 8) | o[1], (o[2] << 8) | o[3]])(g.split('.').map(Number))
              : [parseInt(g, 16)],
          )
      : [];
  const left = part(head);
  const right = address.includes('::') ? part(tail) : [];
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

/** The IPv4 address a NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address stands for, if it is one. */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  const quad = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return quad(g[6], g[7]);
  if (g[0] === 0x2002) return quad(g[1], g[2]);
  return null;
}

/** What kind of non-public address `address` is ("a loopback address"), or null when it is a public one. */
export function nonPublicAddress(address: string): string | null {
  const family = isIP(address);
  if (!family) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [kind, list] of REFUSED) if (list.check(address, type)) return `${kind} address`;
  const inner = family === 6 ? embeddedIpv4(address) : null;
  const innerKind = inner ? nonPublicAddress(inner) : null;
  return innerKind ? `a form of ${inner}, ${innerKind}` : null;
}

/**
 * Where URLs that users enter (push subscription endpoints, webhook URLs) may point: `https` to a public
 * address. Private, loopback, link-local, multicast and reserved targets are refused — at registration and
 * again when connecting, so a name that later resolves to an internal address (DNS rebinding) reaches nothing.
 * `allowPrivateNetworks` (OUTBOUND_ALLOW_PRIVATE_NETWORKS, for tests and closed networks) lifts both rules
 * and also allows plain http. Operator configuration (SMTP_URL, TWILIO_API_BASE_URL) is not subject to it.
 */
export class OutboundUrlPolicy {
  constructor(private readonly allowPrivateNetworks: boolean) {}

  /** Why `url` may not be used, judged from the URL alone (scheme, literal IP host), or null. */
  refusal(url: string): string | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'is not a URL';
    }
    const schemes = this.allowPrivateNetworks ? ['https:', 'http:'] : ['https:'];
    if (!schemes.includes(parsed.protocol)) return `must be an ${this.allowPrivateNetworks ? 'http(s)' : 'https'} URL`;
    if (this.allowPrivateNetworks) return null;
    // URL has already normalised IPv4 spellings (2130706433, 0x7f.1, 127.1) to dotted quads.
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) return 'has no host';
    if (isIP(host)) {
      const kind = nonPublicAddress(host);
      return kind ? `must point to a public address: ${host} is ${kind}` : null;
    }
    return null;
  }

  /** `refusal()` plus the host's DNS answers: every address it resolves to must be public. */
  async check(url: string): Promise<string | null> {
    const problem = this.refusal(url);
    if (problem || this.allowPrivateNetworks) return problem;
    const host = new URL(url).hostname;
    if (isIP(host.replace(/^\[(.*)\]$/, '$1'))) return null;
    let addresses: dns.LookupAddress[];
    try {
      addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
    } catch (error) {
      return `host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`;
    }
    for (const a of addresses) {
      const kind = nonPublicAddress(a.address);
      if (kind) return `must point to a public address: ${host} resolves to ${a.address}, ${kind}`;
    }
    return null;
  }

  /**
   * A `lookup` for sockets (an https.Agent's options): resolves like dns.lookup, then refuses the connection
   * when any answer is not public. Node does not call it for a literal IP host, so check `refusal()` first.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses: dns.LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = this.allowPrivateNetworks ? undefined : addresses.find((a) => nonPublicAddress(a.address));
      if (refused) {
        const err: NodeJS.ErrnoException = new Error(
          `refused to connect to ${hostname}: it resolves to ${refused.address}, ${nonPublicAddress(refused.address)}, ` +
            'and only public addresses are allowed (OUTBOUND_ALLOW_PRIVATE_NETWORKS)',
        );
        err.code = OUTBOUND_REFUSED;
        return callback(err, '', 0);
      }
      if (options.all) return (callback as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
