// etcd's JSON gateway through the benchmarks' own client (http-client.ts), so etcd and ottmesh
// are driven by the same code path: puts, member status, and the leader all members agree on.
import type { Agent } from 'node:http';
import type { EtcdCluster } from './etcd.ts';
import { send } from './http-client.ts';

const statusTimeoutMs = 1_000;

export interface EtcdStatus {
  readonly memberId: string;
  /** The leader's member id as this member sees it; "0" or absent when it knows none. */
  readonly leader: string | null;
}

export class EtcdClient {
  readonly cluster: EtcdCluster;
  readonly #agent: Agent;

  constructor(cluster: EtcdCluster, agent: Agent) {
    this.cluster = cluster;
    this.#agent = agent;
  }

  /** A put through member `i`: true when committed, else a word saying why not. */
  async put(i: number, key: string, value: string, timeoutMs: number): Promise<true | string> {
    const body = { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') };
    const res = await send(this.#agent, { method: 'POST', url: `${this.cluster.members[i]!.clientUrl}/v3/kv/put`, body, timeoutMs });
    if (res.status !== 200) return String(res.status);
    // The gateway answers some failures with 200 and an error object; a commit carries a header.
    return res.body.includes('"header"') && !res.body.includes('"error"') ? true : 'error-body';
  }

  async status(i: number): Promise<EtcdStatus | null> {
    try {
      const res = await send(this.#agent, { method: 'POST', url: `${this.cluster.members[i]!.clientUrl}/v3/maintenance/status`, body: {}, timeoutMs: statusTimeoutMs });
      if (res.status !== 200) return null;
      const json = JSON.parse(res.body) as { header?: { member_id?: string }; leader?: string };
      const memberId = json.header?.member_id;
      if (memberId === undefined) return null;
      return { memberId, leader: json.leader === undefined || json.leader === '0' ? null : json.leader };
    } catch {
      return null; // not up (yet): callers poll with a deadline
    }
  }

  /** Index of the leader when every member answers and all name the same one; else null. */
  async agreedLeader(): Promise<number | null> {
    const all = await Promise.all(this.cluster.members.map((_, i) => this.status(i)));
    if (all.some((s) => s === null)) return null;
    const leader = all[0]!.leader;
    if (leader === null || all.some((s) => s!.leader !== leader)) return null;
    const index = all.findIndex((s) => s!.memberId === leader);
    return index < 0 ? null : index;
  }
}
