// One peer's outbound half of the raft transport: a bounded queue and one long-lived stream.
// Queued messages are written as batch frames whenever the stream can take them; while the
// stream is being opened, or the muxer asks us to wait (drain), they accumulate up to the bound.
// When a stream cannot be opened, or keeps dying, the queue is dropped and the peer reported
// unreachable, and the next attempt waits a growing backoff (Raft resends what matters).
import type { Stream } from '@libp2p/interface';
import type { Message } from '../../consensus/core/types.ts';
import type { P2pLogger } from './logger.ts';
import { encodeFrame, encodeFrameMessage, frameBytes, messageSlotBytes } from './raft-frame.ts';

export interface PeerLinkComponents {
  /** Open a raft stream to `peer` (dialing if needed). Rejects when it cannot. */
  readonly openStream: (peer: string, signal: AbortSignal) => Promise<Stream>;
  readonly unreachable: (peer: string) => void;
  readonly snapshotStatus: (peer: string, ok: boolean) => void;
  readonly logger: P2pLogger;
}

export interface PeerLinkInit {
  readonly maxQueuedMessages: number;
  readonly maxFrameBytes: number;
  readonly openTimeoutMs: number;
  readonly minReconnectBackoffMs: number;
  readonly maxReconnectBackoffMs: number;
}

export class PeerLink {
  readonly peer: string;
  readonly #c: PeerLinkComponents;
  readonly #init: PeerLinkInit;
  #queue: Message[] = [];
  #stream: Stream | null = null;
  #streamOpenedAtMs = 0;
  #opening: AbortController | null = null;
  #retryAtMs = 0;
  #backoffMs: number;
  #closed = false;
  /** Drops not yet reported: reports happen in flush, never inside the caller's send(). */
  #droppedUnreported = false;
  #snapshotsDroppedUnreported = 0;

  constructor(peer: string, components: PeerLinkComponents, init: PeerLinkInit) {
    this.peer = peer;
    this.#c = components;
    this.#init = init;
    this.#backoffMs = init.minReconnectBackoffMs;
  }

  /** Queue `m`, or drop it when the queue is full. Synchronous, never reports. */
  enqueue(m: Message): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#init.maxQueuedMessages) this.#drop([m]);
    else this.#queue.push(m);
  }

  /** Write what is queued, or begin opening the stream; then report drops. */
  flush(): void {
    if (this.#closed) return;
    if (this.#queue.length > 0) {
      const stream = this.#stream;
      if (stream !== null) {
        if (!stream.writableNeedsDrain) this.#write(stream);
      } else if (this.#opening === null) {
        if (performance.now() < this.#retryAtMs) this.#drop(this.#takeQueue());
        else this.#open();
      }
    }
    this.#reportDrops();
  }

  /** Drop everything and close the stream; nothing is reported afterwards. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#opening?.abort(new Error('raft transport stopped'));
    this.#stream?.abort(new Error('raft transport stopped'));
    this.#stream = null;
  }

  #takeQueue(): Message[] {
    const q = this.#queue;
    this.#queue = [];
    return q;
  }

  #open(): void {
    const controller = new AbortController();
    this.#opening = controller;
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(this.#init.openTimeoutMs)]);
    this.#c.openStream(this.peer, signal).then(
      (stream) => {
        this.#opening = null;
        if (this.#closed) {
          stream.abort(new Error('raft transport stopped'));
          return;
        }
        this.#attach(stream);
        this.flush();
      },
      (err: unknown) => {
        this.#opening = null;
        if (this.#closed) return;
        this.#c.logger.debug(`raft transport: no stream to ${this.peer}: ${err instanceof Error ? err.message : String(err)}`);
        this.#backOff();
        this.#drop(this.#takeQueue());
        this.#reportDrops();
      },
    );
  }

  #attach(stream: Stream): void {
    this.#stream = stream;
    this.#streamOpenedAtMs = performance.now();
    stream.addEventListener('drain', () => {
      if (this.#stream === stream) this.flush();
    });
    stream.addEventListener('close', () => {
      if (this.#stream !== stream) return;
      this.#stream = null;
      // A stream that lived a while was healthy: start the backoff over. One that died young
      // (refused by the remote, say) counts as a failed attempt.
      if (performance.now() - this.#streamOpenedAtMs >= this.#init.maxReconnectBackoffMs) this.#backoffMs = this.#init.minReconnectBackoffMs;
      this.#backOff();
      this.flush();
    }, { once: true });
  }

  #backOff(): void {
    this.#retryAtMs = performance.now() + this.#backoffMs;
    this.#backoffMs = Math.min(this.#init.maxReconnectBackoffMs, this.#backoffMs * 2);
  }

  /** Encode the queue into frames of at most maxFrameBytes and send them until the stream asks
   *  us to wait; what is left stays queued for the 'drain' event. */
  #write(stream: Stream): void {
    const queue = this.#takeQueue();
    let i = 0;
    while (i < queue.length) {
      const batch: Message[] = [];
      const encoded: Uint8Array[] = [];
      let slotsBytes = 0;
      for (; i < queue.length; i++) {
        const bytes = encodeFrameMessage(queue[i]!);
        const slot = messageSlotBytes(bytes.byteLength);
        if (frameBytes(encoded.length + 1, slotsBytes + slot) <= this.#init.maxFrameBytes) {
          batch.push(queue[i]!);
          encoded.push(bytes);
          slotsBytes += slot;
        } else if (encoded.length === 0) {
          this.#c.logger.warn(`raft transport: dropped a ${queue[i]!.type} to ${this.peer}: ${bytes.byteLength} bytes exceed the frame bound of ${this.#init.maxFrameBytes}`);
          this.#drop([queue[i]!]);
        } else {
          break;
        }
      }
      if (batch.length === 0) continue;
      let more: boolean;
      try {
        more = stream.send(encodeFrame(encoded));
      } catch (err) {
        this.#c.logger.debug(`raft transport: stream to ${this.peer} failed: ${err instanceof Error ? err.message : String(err)}`);
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        this.#drop([...batch, ...queue.slice(i)]);
        return;
      }
      for (const m of batch) if (m.type === 'MsgSnap') this.#c.snapshotStatus(this.peer, true);
      if (!more) {
        this.#queue = [...queue.slice(i), ...this.#queue];
        return;
      }
    }
  }

  #drop(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    this.#droppedUnreported = true;
    for (const m of messages) if (m.type === 'MsgSnap') this.#snapshotsDroppedUnreported++;
  }

  #reportDrops(): void {
    if (this.#closed) return;
    for (; this.#snapshotsDroppedUnreported > 0; this.#snapshotsDroppedUnreported--) this.#c.snapshotStatus(this.peer, false);
    if (this.#droppedUnreported) {
      this.#droppedUnreported = false;
      this.#c.unreachable(this.peer);
    }
  }
}
