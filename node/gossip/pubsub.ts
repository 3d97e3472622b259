// The narrow part of pubsub that TelemetryGossip uses (js-libp2p style: depend on what you
// use). @libp2p/gossipsub's service fits it as is (a test checks it with the real one), and so
// does the in-memory fake the unit tests use.

/** A pubsub message as the service reads it; @libp2p/gossipsub's Message fits. */
export interface PubSubMessage {
  readonly type: 'signed' | 'unsigned';
  readonly topic: string;
  readonly data: Uint8Array;
  /** The signer (signed messages only): gossipsub has verified the signature. */
  readonly from?: { toString(): string };
}

/** The narrow part of pubsub the service uses: @libp2p/gossipsub fits it, and so does an
 *  in-memory fake. `publish` may reject (e.g. no peers, if allowPublishToZeroTopicPeers is off). */
export interface TelemetryPubSub {
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  publish(topic: string, data: Uint8Array): Promise<unknown>;
  addEventListener(type: 'message', listener: (event: CustomEvent<PubSubMessage>) => void): void;
  removeEventListener(type: 'message', listener: (event: CustomEvent<PubSubMessage>) => void): void;
}
