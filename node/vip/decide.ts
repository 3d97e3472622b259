// What to do about the floating address on this node (docs/floating-address.md), given whether
// it leads, the setting, and the addresses its interfaces have now: add it (and announce it by
// gratuitous ARP), announce it again, or remove copies. Pure: floating-address.ts runs the plan.
//
// Every copy ottmesh adds carries the address label `<device>:otm`, so a node can tell its own
// copies (for instance one left by a crash, or of an address since changed) from addresses an
// operator configured: it removes only its own, and never needs the replicated setting for that.
import { inSubnet, parseCidr, parseIpv4, prefixOfNetmask } from '../state/index.ts';

/** One address as os.networkInterfaces() lists it: under its interface's name, or under its
 *  label when it has one ("eth0:otm"). */
export interface InterfaceAddress {
  readonly address: string;
  readonly netmask: string;
  readonly family: string;
  readonly internal: boolean;
}

export type InterfaceTable = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

export type VipAction =
  | { readonly kind: 'del'; readonly device: string; readonly cidr: string; readonly why: string }
  | { readonly kind: 'add'; readonly device: string; readonly cidr: string; readonly label: string | null }
  | { readonly kind: 'announce'; readonly device: string; readonly address: string; readonly count: number };

export interface VipInput {
  readonly leader: boolean;
  /** The setting: "10.0.0.100/24" or null. */
  readonly address: string | null;
  /** The setting: a device name, or null for the one whose subnet holds the address. */
  readonly interfaceName: string | null;
  readonly interfaces: InterfaceTable;
  /** Every network device of this node, addresses or not (null: unknown, the table's names). */
  readonly devices: readonly string[] | null;
  readonly nowMs: number;
  /** When this run last announced the address it holds; null: not yet. */
  readonly lastAnnouncedAtMs: number | null;
}

export interface VipPlan {
  /** In order: removals first, then the addition, then the announcement. */
  readonly actions: readonly VipAction[];
  /** The device holding the address once the actions succeed; null when this node does not. */
  readonly device: string | null;
  /** Why this node cannot do what it should (a leader with no interface for the address, a copy
   *  someone else made); null when there is none. */
  readonly problem: string | null;
}

/** The label suffix of the copies ottmesh adds. */
export const ownLabelSuffix = ':otm';
/** Linux address labels are at most 15 characters and start with the device name. */
const labelLengthMax = 15;
/** A leader repeats the announcement this often: a switch or a host that missed it (or forgot
 *  the entry) learns it again. One packet each time. */
export const reannounceEveryMs = 30_000;
/** Gratuitous ARPs sent when this node takes the address: more than one, in case one is lost. */
export const takeoverAnnouncements = 3;

/** The label of ottmesh's copy on `device`, or null when the name is too long for one. */
export function labelFor(device: string): string | null {
  const label = `${device}${ownLabelSuffix}`;
  return label.length <= labelLengthMax ? label : null;
}

interface Copy {
  readonly device: string;
  readonly address: string;
  readonly value: number;
  /** null: a netmask that is not a prefix (never seen on Linux). */
  readonly prefix: number | null;
  /** Added by ottmesh (labelled; on a device too long for a label, an unlabelled copy of the
   *  configured address counts as its own). */
  readonly own: boolean;
  readonly internal: boolean;
}

export function decide(input: VipInput): VipPlan {
  const cidr = input.address === null ? null : parseCidr(input.address);
  const copies = ipv4Copies(input.interfaces, cidr?.address ?? null);
  if (!input.leader || cidr === null) {
    const actions = copies.filter((c) => c.own).map((c) => del(c, input.leader ? 'no floating address is configured' : 'this node does not lead'));
    const foreign = cidr === null ? undefined : copies.find((c) => !c.own && c.address === cidr.address);
    const problem = foreign === undefined ? null
      : `${cidr!.address} is on ${foreign.device} without ottmesh's label (set by hand?) while this node does not lead: ottmesh leaves it alone; remove it with 'ip addr del ${cidr!.address}/${foreign.prefix ?? 32} dev ${foreign.device}'`;
    return { actions, device: null, problem };
  }
  const target = targetDevice(input, cidr, copies);
  const present = target.device === null ? undefined : copies.find((c) => c.device === target.device && c.address === cidr.address);
  // A copy of ours with another prefix (the setting changed) is replaced, not kept.
  const keep = present !== undefined && (present.prefix === cidr.prefix || !present.own) ? present : undefined;
  const actions: VipAction[] = copies.filter((c) => c.own && c !== keep).map((c) => del(c, target.device === null ? 'no interface for it' : 'not where it belongs now'));
  if (target.device === null) return { actions, device: null, problem: target.problem };
  const wanted = `${cidr.address}/${cidr.prefix}`;
  if (keep === undefined) {
    actions.push({ kind: 'add', device: target.device, cidr: wanted, label: labelFor(target.device) });
    actions.push({ kind: 'announce', device: target.device, address: cidr.address, count: takeoverAnnouncements });
  } else if (input.lastAnnouncedAtMs === null || input.nowMs - input.lastAnnouncedAtMs >= reannounceEveryMs) {
    const count = input.lastAnnouncedAtMs === null ? takeoverAnnouncements : 1;
    actions.push({ kind: 'announce', device: target.device, address: cidr.address, count });
  }
  return { actions, device: target.device, problem: null };
}

function del(copy: Copy, why: string): VipAction {
  return { kind: 'del', device: copy.device, cidr: `${copy.address}/${copy.prefix ?? 32}`, why };
}

/** The device the leader puts the address on: the configured one when it exists, else the one
 *  whose own IPv4 subnet contains the address (the first by name when several do). */
function targetDevice(input: VipInput, cidr: { address: string; value: number }, copies: readonly Copy[]): { device: string | null; problem: string | null } {
  const known = input.devices ?? [...new Set(copies.map((c) => c.device))];
  if (input.interfaceName !== null) {
    if (known.includes(input.interfaceName)) return { device: input.interfaceName, problem: null };
    return { device: null, problem: `floatingInterface ${input.interfaceName} does not exist on this node (it has ${listOf(known)}): the floating address ${input.address} is not held; set floatingInterface to one of these, or null to pick by subnet` };
  }
  const fits = copies
    .filter((c) => !c.own && !c.internal && c.address !== cidr.address && c.prefix !== null && inSubnet(cidr.value, c.value, c.prefix))
    .map((c) => c.device)
    .sort();
  if (fits.length > 0) return { device: fits[0]!, problem: null };
  const subnets = copies.filter((c) => !c.own && !c.internal && c.prefix !== null).map((c) => `${c.device} ${c.address}/${c.prefix}`);
  return { device: null, problem: `no interface of this node has an IPv4 subnet containing the floating address ${input.address} (it has ${listOf(subnets)}): it is not held; set floatingInterface, or pick an address in one of these subnets` };
}

function ipv4Copies(interfaces: InterfaceTable, configured: string | null): Copy[] {
  const out: Copy[] = [];
  for (const [key, entries] of Object.entries(interfaces)) {
    const colon = key.indexOf(':');
    const device = colon < 0 ? key : key.slice(0, colon);
    for (const entry of entries ?? []) {
      const value = entry.family === 'IPv4' ? parseIpv4(entry.address) : null;
      if (value === null) continue;
      const own = key === labelFor(device) || (labelFor(device) === null && key === device && entry.address === configured);
      out.push({ device, address: entry.address, value, prefix: prefixOfNetmask(entry.netmask), own, internal: entry.internal });
    }
  }
  return out;
}

function listOf(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.join(', ');
}
