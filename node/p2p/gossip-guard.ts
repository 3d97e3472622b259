// Gossip is for members only. Connection gating keeps non-members out (but for a bounded join
// window), and a topic validator ignores a message unless both its signed author and the peer
// that forwarded it are members.
//
// Peer scoring is deliberately NOT tied to membership: gossipsub drops every RPC of a
// graylisted peer, its subscriptions included, and never asks again; a node that connected
// while joining (not yet a member) stayed unheard for good after it became one (seen in about
// half of 5-node clusters started together).
import type { TopicValidatorFn } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerScoreParams } from '@libp2p/gossipsub/score';

/** IP colocation is off: many nodes on one address (loopback, one NAT) are normal here and are
 *  trusted by membership, not by address. */
export function memberGossipScoreParams(): Partial<PeerScoreParams> {
  return { IPColocationFactorWeight: 0 };
}

/**
 * A validator for `pubsub.topicValidators.set(topic, ...)`: ignores (neither delivers nor
 * forwards) messages that are unsigned, written by a non-member, or forwarded by one; otherwise
 * defers to `inner` when given, else accepts.
 */
export function memberOnlyTopicValidator(isMember: (peerId: string) => boolean, inner?: TopicValidatorFn): TopicValidatorFn {
  return (propagationSource, message) => {
    if (message.type !== 'signed') return TopicValidatorResult.Ignore;
    if (!isMember(message.from.toString()) || !isMember(propagationSource.toString())) return TopicValidatorResult.Ignore;
    return inner === undefined ? TopicValidatorResult.Accept : inner(propagationSource, message);
  };
}
