// A ClusterApi for HTTP tests: the real apply() on an in-memory state, a settable Raft view.
import type { NodeCounters } from '../../node/http/routes/metrics.ts';
import type { StreamFigures } from '../../node/gossip/report.ts';
import type { MemberFigures } from '../../node/leader/placement-view.ts';
import { NotLeaderError } from '../../consensus/index.ts';
import type { Role } from '../../consensus/index.ts';
import { encodeJoinToken, newApiToken } from '../../node/auth/index.ts';
import type { ClusterApi, MemberView, RaftView } from '../../node/http/index.ts';
import { apply, emptyState } from '../../node/state/index.ts';
import type { Actor, ApplyResult, ClusterState, Command, JoinTokenRecord, NodeRecord } from '../../node/state/index.ts';

export const nowMs = Date.UTC(2025, 5, 1, 12);
export const adminApiToken = newApiToken();

export function node(id: string, name: string, httpUrl = `http://127.0.0.1:1/${id}`): NodeRecord {
  return { id, name, groups: id === 'p2' ? ['edge'] : [], addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`], httpUrl, enabled: true, joinedAtMs: nowMs };
}

/** A cluster of p1 (voter), p2 (learner, in group edge) with the admin token. */
export function twoNodeState(): ClusterState {
  let state = emptyState();
  const commands: Command[] = [
    { type: 'InitCluster', atMs: nowMs, clusterId: 'cluster-1', node: node('p1', 'alpha'), admin: { name: 'admin', passwordHash: 'x', role: 'admin' },
      adminToken: { id: adminApiToken.id, secretHash: adminApiToken.secretHash, user: 'admin', role: 'admin', createdAtMs: nowMs } },
    { type: 'CreateJoinToken', atMs: nowMs, token: { id: 'boot', secretHash: 'c'.repeat(64), expiresAtMs: nowMs + 1000, usesLeft: 1, groups: ['edge'], createdAtMs: nowMs, createdBy: 'admin' } },
    { type: 'JoinNode', atMs: nowMs, tokenId: 'boot', secretHash: 'c'.repeat(64), node: node('p2', 'beta') },
  ];
  for (const command of commands) state = apply(state, command).state;
  return state;
}

export class FakeApi implements ClusterApi {
  readonly nodeId: string;
  readonly name: string;
  raft: RaftView;
  current: ClusterState = twoNodeState();
  readonly proposed: Command[] = [];
  readonly members = new Map<string, MemberView>();
  /** Replace to make read() fail or change the state first. */
  readImpl: () => Promise<void> = () => Promise.resolve();
  refuseWith: string | null = null;

  constructor(nodeId: string, name: string, role: Role = 'leader') {
    this.nodeId = nodeId;
    this.name = name;
    this.raft = { term: 7, leaderId: role === 'leader' ? nodeId : null, role, conf: { voters: ['p1'], learners: ['p2'] } };
  }

  raftStatus(): RaftView {
    return this.raft;
  }

  state(): ClusterState {
    return this.current;
  }

  read(): Promise<void> {
    return this.readImpl();
  }

  /** As the runtime does: the actor goes on the command, so apply() checks and audits it. */
  propose(bare: Command, actor: Actor | null): Promise<ApplyResult> {
    if (this.raft.role !== 'leader') return Promise.reject(new NotLeaderError(this.raft.leaderId));
    const command: Command = actor === null ? bare : { ...bare, actor };
    this.proposed.push(command);
    if (this.refuseWith !== null) return Promise.resolve({ ok: false, reason: this.refuseWith });
    const { state, result } = apply(this.current, command);
    this.current = state;
    return Promise.resolve(result);
  }

  membership(id: string): MemberView | null {
    return this.members.get(id) ?? null;
  }

  figures = new Map<string, StreamFigures[]>();
  streamFigures(id: string): readonly StreamFigures[] {
    return this.figures.get(id) ?? [];
  }

  memberFigures(id: string): MemberFigures {
    const m = this.members.get(id);
    // A reported host: 2 cores, 8 GiB, the member's cpu and memory figures.
    const host = m === undefined ? null : {
      cpuPct: m.cpuPct, cores: 2, load1: 0, load5: 0, load15: 0, memUsedBytes: 0, memTotalBytes: 8 * 2 ** 30, memPct: m.memPct,
      netRxBytesPerS: 0, netTxBytesPerS: 0, diskFreeBytes: 0, rssBytes: 0,
    };
    return { health: m?.state ?? 'alive', host, streams: this.figures.get(id) ?? [] };
  }

  logs = new Map<string, string[]>();
  async streamLog(nodeId: string, streamId: string): Promise<readonly string[] | null> {
    return this.logs.get(`${nodeId}/${streamId}`) ?? null;
  }

  localStreamLog(streamId: string): readonly string[] | null {
    return this.logs.get(`${this.nodeId}/${streamId}`) ?? null;
  }

  probed: { nodeId: string; url: string }[] = [];
  async probe(nodeId: string, source: { url: string }): Promise<{ ok: boolean; streams: string[]; lines: string[]; ms: number } | null> {
    this.probed.push({ nodeId, url: source.url });
    return nodeId === 'p9' ? null : { ok: true, streams: ['Stream #0:0: Video: h264'], lines: [], ms: 5 };
  }

  async nodeLog(nodeId: string): Promise<readonly string[] | null> {
    return nodeId === this.nodeId ? ['node started'] : null;
  }

  loadHistory(): { atMs: number; cpuPct: number; memPct: number; netRxBytesPerS: number; netTxBytesPerS: number; streams: number }[] {
    return [{ atMs: nowMs, cpuPct: 10, memPct: 20, netRxBytesPerS: 1, netTxBytesPerS: 2, streams: 0 }];
  }

  internalToken(): string {
    return 'i'.repeat(64);
  }

  raftCounters(): { commit: number; applied: number } {
    return { commit: 12, applied: 11 };
  }

  /** What nodeCounters() reports of the gateway (null: none runs). */
  gateway: NodeCounters['gateway'] = null;
  nodeCounters(): NodeCounters {
    return { leaderChanges: 2, gateway: this.gateway };
  }

  nowMs(): number {
    return nowMs;
  }

  newJoinTokenString(record: JoinTokenRecord, secret: string): string {
    return encodeJoinToken({ v: 1, clusterId: this.current.clusterId, networkKey: 'k'.repeat(64), addrs: ['/ip4/127.0.0.1/tcp/4001/p2p/p1'], tokenId: record.id, secret });
  }
}
