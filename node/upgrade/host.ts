// What the upgrade parts need from the running node (NodeRuntime fits): narrow, so the parts
// do not reach into the rest of the node and a test can hand in a fake.
import type { RaftDriver } from '../../consensus/driver.ts';
import type { TelemetryReport } from '../gossip/report.ts';
import type { ApplyResult, ClusterState, Command } from '../state/index.ts';
import type { NodeId } from './plan.ts';

export interface UpgradeNode {
  readonly peerId: NodeId;
  readonly config: { readonly name: string };
  /** status() for the leader and the configuration; read() as the "caught up" barrier;
   *  transferLeadership() on the leader before it restarts. */
  readonly driver: Pick<RaftDriver, 'status' | 'read' | 'transferLeadership'>;
  readonly machine: { current(): ClusterState };
  /** Telemetry gossip, once started: members' health and the build each one reports. */
  readonly telemetry: {
    readonly membership: {
      state(id: NodeId): 'alive' | 'suspect' | 'down' | undefined;
      lastReport(id: NodeId): TelemetryReport | undefined;
    };
  } | null;
  /** The channel side, once built: the node-to-node token. */
  readonly channels: { readonly internalToken: string } | null;
  /** Proposes through the leader; resolves once applied here. Throws the driver's errors. */
  propose(command: Command): Promise<ApplyResult>;
  logLine(line: string): void;
  /** Stops every part of the node (listeners, Raft, the log store): before a restart. */
  stop(): Promise<void>;
  /** The HTTP server: a stop waits for open connections (a dashboard's event stream never
   *  ends by itself), so a restart closes those that outlast a grace period. */
  readonly http: { readonly server: { closeAllConnections(): void } };
}
