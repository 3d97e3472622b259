// A member's load over the last hour, for the dashboard's charts: one sample every
// `sampleEveryMs` of what gossip last reported, kept in a bounded ring per member. Every node
// keeps its own (gossip reaches every node), so any node can draw every chart.
import type { HostFigures } from './report.ts';

export interface LoadSample {
  readonly atMs: number;
  readonly cpuPct: number;
  readonly memPct: number;
  readonly netRxBytesPerS: number;
  readonly netTxBytesPerS: number;
  readonly streams: number;
}

export const historySampleEveryMs = 10_000;
/** One hour at one sample every 10 s. */
export const historySamplesMax = 360;

export class LoadHistory {
  readonly #byMember = new Map<string, LoadSample[]>();

  /** Record what each member reported last (null: nothing heard); members not listed are dropped. */
  sample(atMs: number, members: ReadonlyMap<string, { host: HostFigures | null; streams: number }>): void {
    for (const id of this.#byMember.keys()) if (!members.has(id)) this.#byMember.delete(id);
    for (const [id, m] of members) {
      if (m.host === null) continue;
      const ring = this.#byMember.get(id) ?? [];
      ring.push({ atMs, cpuPct: m.host.cpuPct, memPct: m.host.memPct, netRxBytesPerS: m.host.netRxBytesPerS, netTxBytesPerS: m.host.netTxBytesPerS, streams: m.streams });
      if (ring.length > historySamplesMax) ring.splice(0, ring.length - historySamplesMax);
      this.#byMember.set(id, ring);
    }
  }

  of(id: string): readonly LoadSample[] {
    return this.#byMember.get(id) ?? [];
  }
}
