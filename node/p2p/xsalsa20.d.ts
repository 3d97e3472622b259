// The xsalsa20 package (a dependency of @libp2p/pnet) ships no types.
declare module 'xsalsa20' {
  interface XSalsa20 {
    readonly _xor: object;
    update(input: Uint8Array, output?: Uint8Array): Uint8Array;
    finalize(): void;
  }
  function xsalsa20(nonce: Uint8Array, key: Uint8Array): XSalsa20;
  export default xsalsa20;
}
