// js-libp2p-yamux (8.0) answers every data frame it receives with a window update frame, so
// every message on a stream costs a second frame back: one more encryption, one more write
// syscall on the receiver, one more read and decryption on the sender. Under a write load
// that was a third of the transport's frames. Go's and Rust's yamux grant new credit only once
// half of the receive window is used up; this makes js-libp2p-yamux do the same. Flow control
// is unchanged: the sender still never has more credit than the window; it only gets it in
// fewer, larger grants.
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** YamuxStream's state enum value for an established stream (stream.js StreamState). */
const established = 3;

interface WindowFields {
  state: number;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

const patched = Symbol.for('ottmesh.yamux-half-window');
const proto = YamuxStream.prototype as unknown as WindowFields & { [patched]?: true };

if (proto[patched] !== true && typeof proto.sendWindowUpdate === 'function') {
  const original = proto.sendWindowUpdate;
  proto.sendWindowUpdate = function (this: WindowFields): void {
    // Opening, closing or paused streams keep the library's behaviour (flags, pause bookkeeping).
    if (this.state === established && this.recvWindowCapacity * 2 > this.recvWindow) return;
    original.call(this);
  };
  proto[patched] = true;
}
