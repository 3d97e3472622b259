// One scenario node: its in-memory "disk" (a MemoryStorage that only Ready handling writes
// to), its RawNode (null while crashed), and a toy application whose state is the list of
// proposals it applied. Everything the RawNode holds that was not yet written through a
// Ready is lost on crash, exactly what a real process loses.
import { MemoryStorage, RawNode } from '../../../consensus/core/index.ts';
import type { ConfState, NodeId, RaftConfig, Ready, Snapshot } from '../../../consensus/core/index.ts';
import { formatConf, formatReady } from './format.ts';
import type { Network } from './network.ts';

/** Core settings a scenario may change per node (`add-nodes ... pre-vote=false`). */
export interface NodeOptions {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxSizePerMsgBytes: number | null;
  readonly maxInflightMsgs: number | null;
  readonly maxCommittedSizePerReadyBytes: number | null;
}

/** One applied proposal: the toy state machine's whole state is a list of these. */
export interface AppliedCommand {
  readonly index: number;
  readonly data: string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function decodeAppState(data: Uint8Array): AppliedCommand[] {
  return data.byteLength === 0 ? [] : (JSON.parse(utf8Decoder.decode(data)) as AppliedCommand[]);
}

/** A fresh disk: the bootstrap snapshot at `index` (term 1 past index 0, as in etcd's tests),
 *  or nothing at all for a node that joins an existing cluster (`conf` null). */
export function newStorage(conf: ConfState | null, index: number): MemoryStorage {
  if (conf === null) return new MemoryStorage();
  if (index === 0) return MemoryStorage.bootstrap(conf);
  const storage = new MemoryStorage();
  storage.applySnapshot({ meta: { index, term: 1, conf }, data: new Uint8Array() });
  return storage;
}

export class ScenarioNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly options: NodeOptions;
  raw: RawNode | null = null;
  app: AppliedCommand[] = [];
  #lastConf = '';

  constructor(id: NodeId, storage: MemoryStorage, options: NodeOptions) {
    this.id = id;
    this.storage = storage;
    this.options = options;
    this.start();
  }

  /** (Re)build the RawNode from what is on disk; the application restarts from the snapshot. */
  start(): RawNode {
    const o = this.options;
    const config: RaftConfig = {
      id: this.id,
      storage: this.storage,
      electionTicks: o.electionTicks,
      heartbeatTicks: o.heartbeatTicks,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      // A fixed seed per node: the randomized election timeouts are the same on every run.
      seed: Number(this.id),
      ...(o.maxSizePerMsgBytes === null ? {} : { maxSizePerMsgBytes: o.maxSizePerMsgBytes }),
      ...(o.maxInflightMsgs === null ? {} : { maxInflightMsgs: o.maxInflightMsgs }),
      ...(o.maxCommittedSizePerReadyBytes === null ? {} : { maxCommittedSizePerReadyBytes: o.maxCommittedSizePerReadyBytes }),
    };
    this.raw = new RawNode(config);
    this.app = decodeAppState(this.storage.snapshot().data);
    this.#lastConf = formatConf(this.raw.status().conf);
    return this.raw;
  }

  crash(): void {
    this.raw = null;
  }

  /** One Ready, handled in the documented order: persist, send, apply, advance. */
  handleReady(raw: RawNode, net: Network, isUp: (id: NodeId) => boolean): string[] {
    const rd = raw.ready();
    this.#persist(rd);
    const lost = net.send(rd.messages, isUp);
    const lines = formatReady(rd, (m) => {
      const why = lost.get(m);
      return why === undefined ? '' : ` (dropped: ${why})`;
    });
    this.#apply(rd);
    raw.advance(rd);
    const conf = formatConf(raw.status().conf);
    if (conf !== this.#lastConf) lines.push(`ConfState ${conf}`);
    this.#lastConf = conf;
    return lines;
  }

  #persist(rd: Ready): void {
    if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState !== null) this.storage.setHardState(rd.hardState);
  }

  #apply(rd: Ready): void {
    if (rd.snapshot !== null) this.app = decodeAppState(rd.snapshot.data);
    for (const e of rd.committedEntries) {
      // Empty normal entries are leader no-ops; conf changes are applied by advance().
      if (e.type === 'normal' && e.data.byteLength > 0) this.app.push({ index: e.index, data: utf8Decoder.decode(e.data) });
    }
  }

  /** The application's snapshot at `index` (which must be applied already). */
  snapshotData(index: number): Uint8Array {
    return utf8Encoder.encode(JSON.stringify(this.app.filter((c) => c.index <= index)));
  }

  /** Take an application snapshot at `index` and compact the log, keeping `keepEntries` before it. */
  compact(raw: RawNode, index: number, keepEntries: number): Snapshot {
    return this.storage.createSnapshot(index, raw.status().appliedConf, this.snapshotData(index), keepEntries);
  }
}
