// xsalsa20 1.2 (the cipher of @libp2p/pnet's pre-shared-key protector) keeps one WebAssembly
// memory for all connections and, in each cipher, a view of it. Growing the memory detaches
// every other cipher's view, whose length then reads 0, so that cipher's next update "grows"
// the memory again by all it needs, and the next one again: once one chunk outgrew the memory,
// alternating connections grew it a little on every chunk until it hit the module's 64 MB
// maximum and the node died ("WebAssembly.Memory.grow(): Maximum memory size exceeded", found
// by the chaos suite after 18 minutes of faults). Here a cipher whose view was detached takes a
// fresh view first (the library's own realloc with no growth), so the memory grows only by what
// a chunk really needs, and a closing connection's cipher can zero its key.
import xsalsa20 from 'xsalsa20';

interface WasmCipher {
  _memory: Uint8Array;
  update(input: Uint8Array, output: Uint8Array): void;
  realloc(size: number): void;
  finalize(): void;
}

const patched = Symbol.for('ottmesh.xsalsa20-memory');
const probe = xsalsa20(new Uint8Array(24), new Uint8Array(32));
const probeCipher = probe._xor;
const proto = Object.getPrototypeOf(probeCipher) as WasmCipher & { [patched]?: true };
probe.finalize(); // gives its slot back

// Without WebAssembly the library uses a pure-JS cipher with no shared memory: nothing to do.
if (proto[patched] !== true && typeof proto.realloc === 'function' && '_memory' in probeCipher) {
  const { update, realloc, finalize } = proto;
  // Grows by 0 pages and takes the live buffer.
  const refresh = (cipher: WasmCipher) => {
    if (cipher._memory.byteLength === 0) realloc.call(cipher, 0);
  };
  proto.update = function (this: WasmCipher, input: Uint8Array, output: Uint8Array): void {
    refresh(this);
    update.call(this, input, output);
  };
  // Its finalize zeroes the key through the view too (a detached one throws on Node 24).
  proto.finalize = function (this: WasmCipher): void {
    refresh(this);
    finalize.call(this);
  };
  proto[patched] = true;
}

/** The size of the shared memory now (for tests). */
export function xsalsa20MemoryBytes(): number {
  const c = xsalsa20(new Uint8Array(24), new Uint8Array(32));
  const wasm = c._xor as Partial<WasmCipher>;
  c.update(new Uint8Array(1)); // refreshes its view
  const bytes = wasm._memory?.buffer.byteLength ?? 0;
  c.finalize();
  return bytes;
}
