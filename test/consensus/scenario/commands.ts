// The scenario commands: each reads its arguments, acts on the environment and prints what a
// reader needs to check the step. Commands with nothing to say print nothing (the transcript
// then shows `ok`). Expected core errors print as `error: Name: message`.
//
//   add-nodes N voters=(1,2,3) [learners=(4)] [index=I] [pre-vote=|check-quorum=true|false]
//             [election-ticks=10] [heartbeat-ticks=1] [max-inflight=] [max-size-per-msg=]
//             [max-committed-size-per-ready=]   N nodes with the next ids; no voters/learners:
//             an empty disk (a node joining later). Default disk: MemoryStorage.bootstrap;
//             index=I: a bootstrap snapshot at index I, term 1 instead (etcd's tests).
//   campaign ID | tick ID [N] | tick-heartbeat ID | tick-election ID
//   stabilize [IDs]            handle Readies and deliver messages until nothing moves
//   process-ready IDs | deliver-msgs [IDs] [from=ID] [type=MsgX] | drop-msgs [to=] [from=] [type=]
//   partition (1,2) (3) | isolate ID | heal        links are checked at send and at delivery
//   propose ID data | propose-conf-change ID add-learner=N|promote=N|remove=N
//   transfer-leadership from=ID to=ID | read-index ID context
//   compact ID index [keep=K]  application snapshot at index (<= applied), then log compaction
//   crash ID | restart ID      restart = crash (unpersisted state and queued messages lost) + start from disk
//   report-unreachable ID peer | report-snapshot ID peer [ok=true|false]
//   status ID | raft-state | raft-log ID (what is on disk) | conf ID | applied ID (the app state)
import type { ConfChangeType, MessageType, NodeId } from '../../../consensus/core/index.ts';
import { CommandArgs, parseList, ScenarioError } from './args.ts';
import type { InteractionEnv } from './env.ts';
import { formatConf, formatEntry, formatMessage, formatRaftState, formatSnapshot, formatStatus } from './format.ts';
import type { MessageFilter } from './network.ts';
import type { NodeOptions } from './node.ts';
import { newStorage, ScenarioNode } from './node.ts';

type Handler = (env: InteractionEnv, args: CommandArgs) => void;

const utf8 = new TextEncoder();

function nodeOptions(args: CommandArgs): NodeOptions {
  const optional = (key: string): number | null => (args.has(key) ? args.int(key, 0) : null);
  return {
    electionTicks: args.int('election-ticks', 10),
    heartbeatTicks: args.int('heartbeat-ticks', 1),
    checkQuorum: args.bool('check-quorum', true),
    preVote: args.bool('pre-vote', true),
    maxSizePerMsgBytes: optional('max-size-per-msg'),
    maxInflightMsgs: optional('max-inflight'),
    maxCommittedSizePerReadyBytes: optional('max-committed-size-per-ready'),
  };
}

/** `add-nodes N voters=(1,2,3) learners=(4) [index=I] [options]`: N new nodes with the next ids.
 *  Without voters and learners the nodes start with an empty disk (joining an existing cluster). */
function addNodes(env: InteractionEnv, args: CommandArgs): void {
  const count = args.posInt(0);
  const voters = args.list('voters');
  const learners = args.list('learners');
  const index = args.int('index', 0);
  const options = nodeOptions(args);
  const conf = voters.length === 0 && learners.length === 0 ? null : { voters, learners };
  for (let i = 0; i < count; i++) {
    const id = String(env.nodes.size + 1);
    const node = new ScenarioNode(id, newStorage(conf, index), options);
    env.nodes.set(id, node);
    env.print(formatRaftState(node.raw!.status()));
  }
}

/** Positional node ids; the list form `(1,2)` is accepted too. */
function ids(args: CommandArgs): NodeId[] {
  return args.positional.flatMap(parseList);
}

function oneId(args: CommandArgs): NodeId {
  const [id, ...rest] = ids(args);
  if (id === undefined || rest.length > 0) throw new ScenarioError(`${args.name}: expects one node id`);
  return id;
}

function messageFilter(args: CommandArgs, recipients: readonly NodeId[]): MessageFilter {
  const from = args.str('from');
  const type = args.str('type') as MessageType | undefined;
  return {
    ...(recipients.length > 0 ? { to: new Set(recipients) } : {}),
    ...(from === undefined ? {} : { from }),
    ...(type === undefined ? {} : { type }),
  };
}

function deliverMsgs(env: InteractionEnv, args: CommandArgs): void {
  const filter = messageFilter(args, ids(args));
  // Deliver in rounds so each recipient's messages are grouped under its id, as in stabilize.
  const recipients = [...new Set(env.net.pending(filter).map((m) => m.to))];
  for (const to of recipients) {
    env.print(`> ${to} receiving messages`);
    env.withIndent(() => env.deliver({ ...filter, to: new Set([to]) }));
  }
  if (recipients.length === 0) env.print('no messages');
}

function dropMsgs(env: InteractionEnv, args: CommandArgs): void {
  const to = args.str('to');
  const dropped = env.net.take(messageFilter(args, to === undefined ? [] : [to]));
  for (const m of dropped) env.print(`dropped: ${formatMessage(m)}`);
  if (dropped.length === 0) env.print('no messages');
}

function proposeConfChange(env: InteractionEnv, args: CommandArgs): void {
  const id = args.pos(0);
  const types: ConfChangeType[] = ['add-learner', 'promote', 'remove'];
  const given = types.filter((t) => args.has(t));
  const [type] = given;
  if (type === undefined || given.length > 1) throw new ScenarioError('propose-conf-change: give exactly one of add-learner=, promote=, remove=');
  const node = args.requireStr(type);
  env.catchExpected(() => {
    const { index, term } = env.live(id).proposeConfChange({ type, node });
    env.print(`proposed at ${term}/${index}`);
  });
}

function compact(env: InteractionEnv, args: CommandArgs): void {
  const id = args.pos(0);
  const index = args.posInt(1);
  const raw = env.live(id);
  const applied = raw.status().applied;
  if (index > applied) throw new ScenarioError(`compact: index ${index} is past node ${id}'s applied index ${applied}`);
  const snapshot = env.node(id).compact(raw, index, args.int('keep', 0));
  env.print(`snapshot ${formatSnapshot(snapshot)}; log now starts at ${env.node(id).storage.firstIndex()}`);
}

/** What the node has on disk: the snapshot it starts from, then its entries. */
function raftLog(env: InteractionEnv, args: CommandArgs): void {
  const storage = env.node(oneId(args)).storage;
  const snap = storage.snapshot();
  if (snap.meta.index > 0) env.print(`snapshot ${formatSnapshot(snap)}`);
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  if (last < first) env.print('no entries');
  for (const e of storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER)) env.print(formatEntry(e));
  const hs = storage.initialState().hardState;
  env.print(`hard state: term=${hs.term} vote=${hs.vote ?? '-'} commit=${hs.commit}`);
}

/** Crash the node if it runs (losing what it did not persist), then start it from its disk. */
function restart(env: InteractionEnv, args: CommandArgs): void {
  const id = oneId(args);
  if (env.node(id).raw !== null) env.crash(id);
  env.print(formatRaftState(env.node(id).start().status()));
}

const handlers: Record<string, Handler> = {
  'add-nodes': addNodes,
  campaign: (env, args) => env.live(oneId(args)).campaign(),
  tick: (env, args) => env.tick(args.pos(0), args.positional.length > 1 ? args.posInt(1) : 1),
  'tick-heartbeat': (env, args) => env.tick(oneId(args), env.node(oneId(args)).options.heartbeatTicks),
  'tick-election': (env, args) => env.tickElection(oneId(args)),
  stabilize: (env, args) => env.stabilize(ids(args)),
  'process-ready': (env, args) => {
    for (const id of ids(args)) {
      if (!env.live(id).hasReady()) {
        env.print(`> ${id} has no Ready`);
        continue;
      }
      env.print(`> ${id} handling Ready`);
      env.withIndent(() => env.processReady(id));
    }
  },
  'deliver-msgs': deliverMsgs,
  'drop-msgs': dropMsgs,
  partition: (env, args) => {
    env.net.partition(args.positional.map(parseList), env.ids());
    env.print(`cut links: ${env.net.describeCuts()}`);
  },
  isolate: (env, args) => {
    env.net.isolate(oneId(args), env.ids());
    env.print(`cut links: ${env.net.describeCuts()}`);
  },
  heal: (env) => env.net.heal(),
  propose: (env, args) => {
    const raw = env.live(args.pos(0));
    const data = utf8.encode(args.pos(1));
    env.catchExpected(() => {
      const { index, term } = raw.propose(data);
      env.print(`proposed at ${term}/${index}`);
    });
  },
  'propose-conf-change': proposeConfChange,
  'transfer-leadership': (env, args) => {
    const from = args.requireStr('from');
    const to = args.requireStr('to');
    env.catchExpected(() => env.live(from).transferLeadership(to));
  },
  'read-index': (env, args) => {
    const raw = env.live(args.pos(0));
    const context = args.pos(1);
    env.catchExpected(() => raw.readIndex(context));
  },
  compact,
  crash: (env, args) => env.crash(oneId(args)),
  restart,
  'report-unreachable': (env, args) => env.live(args.pos(0)).reportUnreachable(args.pos(1)),
  'report-snapshot': (env, args) => env.live(args.pos(0)).reportSnapshot(args.pos(1), args.bool('ok', true)),
  status: (env, args) => formatStatus(env.live(oneId(args)).status()).forEach((l) => env.print(l)),
  'raft-log': raftLog,
  'raft-state': (env) => {
    for (const id of env.ids()) {
      const raw = env.node(id).raw;
      env.print(raw === null ? `${id}: crashed` : formatRaftState(raw.status()));
    }
  },
  conf: (env, args) => env.print(formatConf(env.live(oneId(args)).status().conf)),
  applied: (env, args) => {
    const app = env.node(oneId(args)).app;
    env.print(app.length === 0 ? 'nothing applied' : app.map((c) => `${c.index}:${c.data}`).join(' '));
  },
};

/** Run one command line and return its transcript output (not yet normalized). */
export function runCommand(env: InteractionEnv, line: string): string {
  const args = new CommandArgs(line);
  const handler = handlers[args.name];
  if (handler === undefined) throw new ScenarioError(`unknown command "${args.name}" (known: ${Object.keys(handlers).join(', ')})`);
  handler(env, args);
  args.checkAllUsed();
  return env.takeOutput();
}
