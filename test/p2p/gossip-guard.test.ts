// The member-only gossip validator, case by case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import { peerIdFromString } from '@libp2p/peer-id';
import { memberGossipScoreParams, memberOnlyTopicValidator } from '../../node/p2p/gossip-guard.ts';
import { strangerId } from './helpers.ts';

test('gossip is accepted only when its author and forwarder are members', async () => {
  const [m1, m2, outsider] = await Promise.all([strangerId(), strangerId(), strangerId()]);
  const members = new Set([m1, m2]);
  const isMember = (id: string): boolean => members.has(id);
  const signed = (from: string): Message => ({ type: 'signed', from: peerIdFromString(from), topic: 't', data: new Uint8Array(), sequenceNumber: 1n, signature: new Uint8Array(), key: peerIdFromString(from).publicKey! });
  const validate = memberOnlyTopicValidator(isMember);
  const peer = (id: string) => peerIdFromString(id);
  assert.equal(await validate(peer(m1), signed(m2)), TopicValidatorResult.Accept);
  assert.equal(await validate(peer(outsider), signed(m2)), TopicValidatorResult.Ignore, 'forwarded by a non-member');
  assert.equal(await validate(peer(m1), signed(outsider)), TopicValidatorResult.Ignore, 'written by a non-member');
  assert.equal(await validate(peer(m1), { type: 'unsigned', topic: 't', data: new Uint8Array() }), TopicValidatorResult.Ignore, 'unsigned');
  const strict = memberOnlyTopicValidator(isMember, () => TopicValidatorResult.Reject);
  assert.equal(await strict(peer(m1), signed(m2)), TopicValidatorResult.Reject, 'the inner validator decides for members');
  assert.equal(memberGossipScoreParams().appSpecificScore, undefined, 'membership must not graylist: a graylisted peer\'s subscriptions are lost for good');
});
