// Shared pieces of the p2p tests: hosts on loopback sharing one network key and one mutable
// membership, and a bounded wait.
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { HostInit, P2pHost } from '../../node/p2p/host.ts';
import { createHost } from '../../node/p2p/host.ts';
import { generateNetworkKey, peerIdOf } from '../../node/p2p/keys.ts';
import { silentLogger } from '../../node/p2p/logger.ts';

/** Poll `condition` every few ms until it holds; fail after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Who is a member, shared by every host of one test (the stand-in for the applied state). */
export class Membership {
  readonly ids = new Set<string>();
  readonly addrs = new Map<string, string[]>();
  isMember = (id: string): boolean => this.ids.has(id);
  members = (): Array<{ id: string; addrs: string[] }> => [...this.ids].map((id) => ({ id, addrs: this.addrs.get(id) ?? [] }));
  addrsOf = (id: string): string[] => this.addrs.get(id) ?? [];
  add(host: P2pHost): void {
    this.ids.add(host.peerId);
    this.addrs.set(host.peerId, host.listenAddrs());
  }
}

export type TestHostOptions = Partial<Omit<HostInit, 'privateKey' | 'isMember' | 'members'>>;

/** A host on 127.0.0.1, port 0, gated by `membership` (it is not added to it). */
export async function startHost(membership: Membership, networkKey: Uint8Array, options: TestHostOptions = {}): Promise<P2pHost> {
  const privateKey = await generateKeyPair('Ed25519');
  return createHost({
    privateKey,
    networkKey,
    host: '127.0.0.1',
    p2pPort: 0,
    dialTimeoutMs: 1_000,
    reconcileIntervalMs: 60_000, // tests call reconcile() themselves
    isMember: membership.isMember,
    members: membership.members,
    ...options,
  }, { logger: silentLogger });
}

/** `n` member hosts that all know each other. */
export async function startCluster(n: number, options: TestHostOptions = {}): Promise<{ hosts: P2pHost[]; membership: Membership; networkKey: Uint8Array }> {
  const membership = new Membership();
  const networkKey = generateNetworkKey();
  const hosts: P2pHost[] = [];
  for (let i = 0; i < n; i++) {
    const host = await startHost(membership, networkKey, options);
    membership.add(host);
    hosts.push(host);
  }
  return { hosts, membership, networkKey };
}

export async function stopAll(hosts: readonly P2pHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.stop()));
}

/** A fresh peer id that no host has. */
export async function strangerId(): Promise<string> {
  return peerIdOf(await generateKeyPair('Ed25519'));
}
