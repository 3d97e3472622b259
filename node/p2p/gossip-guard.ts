// Gossip is for members only. Two layers:
//  - peer scoring: a non-member's application score sinks it below gossipsub's graylist threshold,
//    so its RPCs are ignored and nothing is published or gossiped to it; the score follows
//    membership as it changes (gossipsub recomputes it every heartbeat);
//  - a topic validator that ignores a message unless both its signed author and the peer that
//    forwarded it are members (a helper for whoever subscribes to a topic).
import type { TopicValidatorFn } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerScoreParams, PeerScoreThresholds } from '@libp2p/gossipsub/score';

/** Application score of a non-member: far below every threshold below. */
export const nonMemberGossipScore = -1000;

export const memberGossipScoreThresholds: Partial<PeerScoreThresholds> = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
};

/** Score parameters that make membership the only thing that matters. IP colocation is off:
 *  many nodes on one address (loopback, one NAT) are normal here and are trusted by membership. */
export function memberGossipScoreParams(isMember: (peerId: string) => boolean): Partial<PeerScoreParams> {
  return {
    appSpecificScore: (peerId) => (isMember(peerId) ? 0 : nonMemberGossipScore),
    appSpecificWeight: 1,
    IPColocationFactorWeight: 0,
  };
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
