// End-to-end checks of the pure core with a synchronous, lossless network: the basics every
// other suite builds on (elect, replicate, commit, compact and catch up, change membership).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, NotLeaderError, RawNode } from '../../consensus/core/index.ts';
import type { Entry, Message, NodeId } from '../../consensus/core/index.ts';

class Cluster {
  nodes = new Map<NodeId, { raw: RawNode; storage: MemoryStorage; applied: Entry[] }>();
  inbox: Message[] = [];

  add(id: NodeId, storage: MemoryStorage): void {
    this.nodes.set(id, { raw: new RawNode({ id, storage, seed: Number(id) }), storage, applied: [] });
  }

  /** Process Readies and deliver messages until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (const n of this.nodes.values()) {
        while (n.raw.hasReady()) {
          moved = true;
          const rd = n.raw.ready();
          if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
          n.storage.append(rd.entries);
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          this.inbox.push(...rd.messages);
          n.applied.push(...rd.committedEntries);
          n.raw.advance(rd);
        }
      }
      const batch = this.inbox;
      this.inbox = [];
      for (const m of batch) {
        moved = true;
        this.nodes.get(m.to)?.raw.step(m);
      }
      if (!moved) return;
    }
    throw new Error('did not stabilize');
  }

  leader(): RawNode {
    const leaders = [...this.nodes.values()].filter((n) => n.raw.status().role === 'leader');
    assert.equal(leaders.length, 1);
    return leaders[0]!.raw;
  }
}

const text = (e: Entry) => new TextDecoder().decode(e.data);

function threeNodes(): Cluster {
  const c = new Cluster();
  for (const id of ['1', '2', '3']) c.add(id, MemoryStorage.bootstrap({ voters: ['1', '2', '3'], learners: [] }));
  c.nodes.get('1')!.raw.campaign();
  c.stabilize();
  return c;
}

test('elects a leader, commits its no-op and replicates proposals to all', () => {
  const c = threeNodes();
  const leader = c.leader();
  assert.equal(leader.id, '1');
  assert.equal(leader.status().term, 2);
  const at = leader.propose(new TextEncoder().encode('hello'));
  c.stabilize();
  for (const n of c.nodes.values()) {
    assert.deepEqual(n.applied.map(text), ['', 'hello']);
    assert.equal(n.raw.status().commit, at.index);
  }
});

test('a follower refuses proposals with the leader id', () => {
  const c = threeNodes();
  assert.throws(() => c.nodes.get('2')!.raw.propose(new Uint8Array([1])), (e) => e instanceof NotLeaderError && e.leaderId === '1');
});

test('a new learner catches up by snapshot, is promoted, and the leader can hand over to it', () => {
  const c = threeNodes();
  const leader = c.leader();
  for (let i = 0; i < 20; i++) leader.propose(new TextEncoder().encode(`v${i}`));
  c.stabilize();
  const s1 = c.nodes.get('1')!;
  s1.storage.createSnapshot(s1.raw.status().applied, s1.raw.status().appliedConf, new TextEncoder().encode('state'));
  c.add('4', new MemoryStorage());
  leader.proposeConfChange({ type: 'add-learner', node: '4' });
  c.stabilize();
  const n4 = c.nodes.get('4')!;
  assert.equal(n4.storage.snapshot().meta.conf.voters.length, 3);
  assert.deepEqual(n4.raw.status().conf.learners, ['4']);
  assert.equal(n4.raw.status().commit, s1.raw.status().commit);
  leader.proposeConfChange({ type: 'promote', node: '4' });
  c.stabilize();
  assert.deepEqual(leader.status().conf.voters, ['1', '2', '3', '4']);
  leader.transferLeadership('4');
  c.stabilize();
  assert.equal(c.leader().id, '4');
  c.leader().proposeConfChange({ type: 'remove', node: '1' });
  c.stabilize();
  assert.deepEqual(c.leader().status().conf.voters, ['2', '3', '4']);
});

test('read-index answers on the leader and through a follower', () => {
  const c = threeNodes();
  c.nodes.get('1')!.raw.readIndex('a');
  c.nodes.get('3')!.raw.readIndex('b');
  const got: string[] = [];
  for (const n of c.nodes.values()) {
    const orig = n.raw.ready.bind(n.raw);
    n.raw.ready = () => {
      const rd = orig();
      for (const rs of rd.readStates) got.push(`${n.raw.id}:${rs.context}@${rs.index}`);
      return rd;
    };
  }
  c.stabilize();
  assert.deepEqual(got.sort(), ['1:a@2', '3:b@2']);
});

test('200 learners do not slow elections: only voters are asked, and the votes needed stay 2', () => {
  const voters = ['1', '2', '3'];
  const learners = Array.from({ length: 200 }, (_, i) => `L${i}`);
  const electionTraffic = (withLearners: boolean) => {
    const c = new Cluster();
    const conf = { voters, learners: withLearners ? learners : [] };
    for (const id of [...voters, ...conf.learners]) c.add(id, MemoryStorage.bootstrap(conf));
    c.nodes.get('1')!.raw.campaign();
    // Deliver only what the election needs, counting the vote requests sent.
    let voteRequests = 0;
    for (let round = 0; round < 10 && c.nodes.get('1')!.raw.status().role !== 'leader'; round++) {
      for (const n of c.nodes.values()) {
        while (n.raw.hasReady()) {
          const rd = n.raw.ready();
          if (rd.hardState) n.storage.setHardState(rd.hardState);
          n.storage.append(rd.entries);
          for (const m of rd.messages) if (m.type === 'MsgVote' || m.type === 'MsgPreVote') voteRequests++;
          c.inbox.push(...rd.messages.filter((m) => m.type !== 'MsgApp' && m.type !== 'MsgHeartbeat'));
          n.raw.advance(rd);
        }
      }
      const batch = c.inbox;
      c.inbox = [];
      for (const m of batch) c.nodes.get(m.to)!.raw.step(m);
    }
    return { leader: c.nodes.get('1')!.raw.status().role === 'leader', voteRequests };
  };
  const without = electionTraffic(false);
  const withLearners = electionTraffic(true);
  assert.ok(without.leader && withLearners.leader);
  assert.equal(withLearners.voteRequests, without.voteRequests, 'learners are never asked for votes');
  assert.equal(withLearners.voteRequests, 4, 'a pre-vote and a vote to each of the two other voters');
});
