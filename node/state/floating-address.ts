// The floating address setting (docs/floating-address.md): an IPv4 address with its prefix
// ("10.0.0.100/24") that the leader holds, and optionally the interface it goes on. Parsing and
// the rules UpdateSettings checks. Pure.
import type { ClusterState } from './types.ts';

/** An IPv4 address with a prefix length. `value` is the address as an unsigned 32-bit number. */
export interface Ipv4Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly value: number;
}

/** Longest setting text accepted ("255.255.255.255/32" is 18). */
export const floatingAddressLengthMax = 18;
/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const interfaceNameLengthMax = 15;
/** What `ip link` accepts as a name, less the characters that would confuse a shell or `ip`
 *  (':' separates an address label, '/' a path). */
const interfaceNamePattern = /^[A-Za-z0-9_.-]{1,15}$/;
const octetPattern = /^(0|[1-9][0-9]{0,2})$/;

/** The address as a number, or null when `text` is not a dotted quad (no leading zeros: "010"
 *  reads as octal to some tools). */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!octetPattern.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

/** "a.b.c.d/n", or null when it is not one. */
export function parseCidr(text: string): Ipv4Cidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const value = parseIpv4(address);
  if (value === null || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix > 32 ? null : { address, prefix, value };
}

/** The mask of a prefix length as an unsigned number. */
export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffff_ffff << (32 - prefix)) >>> 0;
}

/** The prefix length of a dotted netmask ("255.255.255.0" → 24), or null when the mask is not
 *  contiguous ones then zeros. */
export function prefixOfNetmask(netmask: string): number | null {
  const value = parseIpv4(netmask);
  if (value === null) return null;
  for (let prefix = 0; prefix <= 32; prefix++) if (maskOf(prefix) === value) return prefix;
  return null;
}

/** Whether `value` lies in the subnet of `network`/`prefix`. */
export function inSubnet(value: number, network: number, prefix: number): boolean {
  const mask = maskOf(prefix);
  return ((value & mask) >>> 0) === ((network & mask) >>> 0);
}

/** Why `address` (and `interfaceName`) cannot be the floating address, or null when they can.
 *  null address: none configured (an interface alone is kept, unused). */
export function floatingAddressProblem(address: string | null, interfaceName: string | null): string | null {
  if (interfaceName !== null && (!interfaceNamePattern.test(interfaceName) || interfaceName === '.' || interfaceName === '..')) {
    return `floatingInterface must be a network interface name (1-${interfaceNameLengthMax} letters, digits, '_', '.', '-', e.g. "eth0"), not ${JSON.stringify(interfaceName)}; null picks the interface whose subnet holds the address`;
  }
  if (address === null) return null;
  const cidr = parseCidr(address);
  const example = 'an IPv4 address with its prefix length, e.g. "10.0.0.100/24"';
  if (cidr === null) return `floatingAddress must be ${example}, not ${JSON.stringify(address)}`;
  if (cidr.prefix < 1) return `floatingAddress ${address}: the prefix length must be 1-32 (the length of the subnet it sits in, e.g. /24)`;
  const first = cidr.value >>> 24;
  if (first === 0) return `floatingAddress ${address} is in 0.0.0.0/8 ("this network"): pick an unused address of the servers' subnet`;
  if (first === 127) return `floatingAddress ${address} is a loopback address: other machines could not reach it; pick an unused address of the servers' subnet`;
  if (first >= 224 && first <= 239) return `floatingAddress ${address} is a multicast address: pick an unused unicast address of the servers' subnet`;
  if (first >= 240) return `floatingAddress ${address} is reserved (240.0.0.0/4 or broadcast): pick an unused address of the servers' subnet`;
  if (cidr.prefix <= 30) {
    const host = (cidr.value & ~maskOf(cidr.prefix)) >>> 0;
    const hostMax = (~maskOf(cidr.prefix)) >>> 0;
    if (host === 0) return `floatingAddress ${address} is the network address of its subnet: pick a host address in it`;
    if (host === hostMax) return `floatingAddress ${address} is the broadcast address of its subnet: pick a host address in it`;
  }
  return null;
}

/** The floating address must not be a member's own address: the leader would take it over, and
 *  the other nodes would see a copy of it that they did not add. null when it is none. */
export function floatingAddressConflict(state: ClusterState, address: string | null): string | null {
  if (address === null) return null;
  const ip = address.split('/')[0]!;
  for (const node of Object.values(state.nodes)) {
    const hosts = [hostOfUrl(node.httpUrl), ...node.addrs.map(hostOfMultiaddr)];
    if (hosts.includes(ip)) return `floatingAddress ${address} is the address of node ${node.name}: pick an address no machine uses`;
  }
  return null;
}

function hostOfUrl(url: string): string | null {
  const match = /^[a-z]+:\/\/([^/:]+)/i.exec(url);
  return match?.[1] ?? null;
}

function hostOfMultiaddr(addr: string): string | null {
  const match = /^\/ip4\/([^/]+)/.exec(addr);
  return match?.[1] ?? null;
}
