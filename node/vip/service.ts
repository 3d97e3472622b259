// The floating address in a running node: the loop woken by Raft role changes and by settings
// changes, the cluster-wide view for GET /api/v1/cluster, and the node-to-node route that view
// asks the leader through (GET /internal/v1/floating-address).
import type { FastifyPluginAsync } from 'fastify';

import type { NodeId, SoftState } from '../../consensus/core/index.ts';
import { checkInternalAuth } from '../hls/index.ts';
import { ApiError } from '../http/errors.ts';
import type { ClusterState } from '../state/index.ts';
import { linuxAddressSystem } from './address.ts';
import type { AddressSystem } from './address.ts';
import { FloatingAddressLoop } from './floating-address.ts';
import type { LocalFloatingStatus } from './floating-address.ts';

/** A follower asking the leader for the view waits this long at most. */
export const leaderAskTimeoutMs = 1_000;
export const floatingInternalPath = '/internal/v1/floating-address';

/** GET /api/v1/cluster's `floatingAddress`. */
export interface FloatingAddressView {
  /** The setting ("10.0.0.100/24"); null: none configured (then every field is null). */
  readonly address: string | null;
  /** The node holding it (the leader, once it has added it); null: nobody, or not known. */
  readonly holder: NodeId | null;
  /** The holder's interface, or where the leader would put it. */
  readonly interface: string | null;
  /** Why the address is not held as it should be; null when it is. */
  readonly problem: string | null;
}

export interface FloatingAddressParts {
  readonly selfId: NodeId;
  /** The Raft driver: its role, and its soft-state events (leadership changes). */
  readonly driver: {
    status(): { readonly role: string; readonly leaderId: NodeId | null };
    on(event: 'soft-state', listener: (soft: SoftState) => void): unknown;
    off(event: 'soft-state', listener: (soft: SoftState) => void): unknown;
  };
  readonly state: () => ClusterState;
  readonly onStateChange: (listener: (state: ClusterState, previous: ClusterState) => void) => () => void;
  /** GET `path` on member `nodeId` over /internal; null when it does not answer 200 in time. */
  readonly askNode: <T>(nodeId: NodeId, path: string, timeoutMs: number) => Promise<T | null>;
  readonly log: (line: string) => void;
  /** Default: the real machine (ip, arping). */
  readonly system?: AddressSystem;
}

export class FloatingAddressService {
  readonly loop: FloatingAddressLoop;
  readonly #parts: FloatingAddressParts;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(parts: FloatingAddressParts) {
    this.#parts = parts;
    this.loop = new FloatingAddressLoop({
      isLeader: () => roleOf(parts.driver) === 'leader',
      settings: () => parts.state().settings,
      system: parts.system ?? linuxAddressSystem,
      log: parts.log,
    });
  }

  /** Starts the loop (its first run removes a copy left by a crash unless this node leads). */
  start(): void {
    const onSoftState = () => this.loop.wake();
    this.#parts.driver.on('soft-state', onSoftState);
    this.#unsubscribe.push(() => this.#parts.driver.off('soft-state', onSoftState));
    this.#unsubscribe.push(this.#parts.onStateChange((state, previous) => {
      const now = state.settings;
      const before = previous.settings;
      if (now.floatingAddress !== before.floatingAddress || now.floatingInterface !== before.floatingInterface) queueMicrotask(() => this.loop.wake());
    }));
    this.loop.start();
  }

  /** Releases the address if this node holds it. */
  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.loop.stop();
  }

  /** The cluster's floating address as this node can tell: its own part when it holds it or
   *  leads, else the leader's answer. */
  async view(): Promise<FloatingAddressView> {
    const { selfId, driver, state } = this.#parts;
    const address = state().settings.floatingAddress;
    if (address === null) return { address: null, holder: null, interface: null, problem: null };
    const local = this.loop.status();
    if (local.held) return { address, holder: selfId, interface: local.interface, problem: local.problem };
    const leaderId = roleOf(driver) === 'leader' ? selfId : leaderOf(driver);
    if (leaderId === selfId) return { address, holder: null, interface: local.interface, problem: local.problem };
    if (leaderId === null) return { address, holder: null, interface: null, problem: 'no leader is elected right now: the leader takes the floating address once there is one' };
    const answer = await this.#parts.askNode<LocalFloatingStatus>(leaderId, floatingInternalPath, leaderAskTimeoutMs);
    if (answer === null) {
      const name = state().nodes[leaderId]?.name ?? leaderId;
      return { address, holder: null, interface: null, problem: `the leader ${name} did not answer about the floating address within ${leaderAskTimeoutMs} ms` };
    }
    return { address, holder: answer.held ? leaderId : null, interface: answer.interface, problem: answer.problem };
  }
}

function roleOf(driver: FloatingAddressParts['driver']): string | null {
  try {
    return driver.status().role;
  } catch {
    return null; // the driver stopped: this node leads nothing
  }
}

function leaderOf(driver: FloatingAddressParts['driver']): NodeId | null {
  try {
    return driver.status().leaderId;
  } catch {
    return null;
  }
}

/** GET /internal/v1/floating-address: this node's part (LocalFloatingStatus), node to node. */
export function floatingAddressRoutes(parts: { status: () => LocalFloatingStatus | null; internalToken: () => string }): FastifyPluginAsync {
  return async (app) => {
    app.get(floatingInternalPath, async (request) => {
      const check = checkInternalAuth(request.headers.authorization, parts.internalToken());
      if (!check.ok) throw new ApiError(401, check.message);
      const status = parts.status();
      if (status === null) throw new ApiError(503, 'the floating address loop has not started yet', 1);
      return status;
    });
  };
}
