// Compact, stable text for the core's data, in the spirit of etcd-io/raft's transcripts:
// `term/index` for entries, `from->to Type Term:.. Log:logTerm/index` for messages. Only the
// fields that carry meaning for a message type are shown, so a transcript reads like the paper.
import { decodeConfChange } from '../../../consensus/core/index.ts';
import type { ConfState, Entry, HardState, Message, PeerProgress, Ready, Snapshot, Status } from '../../../consensus/core/index.ts';

const utf8 = new TextDecoder();

export function quote(data: Uint8Array): string {
  return JSON.stringify(utf8.decode(data));
}

export function formatEntry(e: Entry): string {
  if (e.type === 'conf-change') {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} EntryConfChange ${cc.type} ${cc.node}`;
  }
  return `${e.term}/${e.index} EntryNormal ${quote(e.data)}`;
}

export function formatIds(ids: readonly string[]): string {
  return `(${ids.join(',')})`;
}

export function formatConf(conf: ConfState): string {
  return `voters=${formatIds(conf.voters)} learners=${formatIds(conf.learners)}`;
}

export function formatHardState(hs: HardState): string {
  return `HardState Term:${hs.term} Vote:${hs.vote ?? '-'} Commit:${hs.commit}`;
}

export function formatSnapshot(s: Snapshot): string {
  return `Index:${s.meta.index} Term:${s.meta.term} ${formatConf(s.meta.conf)}`;
}

function formatEntryList(entries: readonly Entry[]): string {
  return `Entries:[${entries.map(formatEntry).join(', ')}]`;
}

/** The message fields that matter for its type; anything unusual is appended so it is never hidden. */
export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${m.type} Term:${m.term}`];
  switch (m.type) {
    case 'MsgApp':
      parts.push(`Log:${m.logTerm}/${m.index} Commit:${m.commit}`);
      if (m.entries.length > 0) parts.push(formatEntryList(m.entries));
      break;
    case 'MsgAppResp':
      parts.push(`Index:${m.index}`);
      if (m.commit !== 0) parts.push(`Commit:${m.commit}`);
      if (m.reject) parts.push(`Rejected (Hint:${m.rejectTerm}/${m.rejectHint})`);
      break;
    case 'MsgHeartbeat':
      parts.push(`Commit:${m.commit}`);
      break;
    case 'MsgVote':
    case 'MsgPreVote':
      parts.push(`Log:${m.logTerm}/${m.index}`);
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      if (m.reject) parts.push('Rejected');
      break;
    case 'MsgSnap':
      if (m.snapshot !== null) parts.push(`Snapshot: ${formatSnapshot(m.snapshot)}`);
      break;
    case 'MsgReadIndexResp':
      parts.push(`Index:${m.index}`);
      break;
    case 'MsgProp':
      parts.push(formatEntryList(m.entries));
      break;
    default:
      break; // MsgHeartbeatResp, MsgTimeoutNow, MsgReadIndex, MsgTransferLeader: term and context say it all
  }
  if (m.context !== '') parts.push(`Context:${JSON.stringify(m.context)}`);
  if (m.reject && !['MsgAppResp', 'MsgVoteResp', 'MsgPreVoteResp'].includes(m.type)) parts.push('Rejected');
  return parts.join(' ');
}

/** The Ready as lines, in the order the caller handles it (persist, send, apply). */
export function formatReady(rd: Ready, annotate: (m: Message) => string = () => ''): string[] {
  const lines = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState !== null) lines.push(`State:${rd.softState.role} Lead:${rd.softState.leaderId ?? '-'}`);
  if (rd.hardState !== null) lines.push(formatHardState(rd.hardState));
  if (rd.snapshot !== null) lines.push(`Snapshot ${formatSnapshot(rd.snapshot)}`);
  if (rd.entries.length > 0) lines.push('Entries:', ...rd.entries.map(formatEntry));
  if (rd.committedEntries.length > 0) lines.push('CommittedEntries:', ...rd.committedEntries.map(formatEntry));
  if (rd.messages.length > 0) lines.push('Messages:', ...rd.messages.map((m) => formatMessage(m) + annotate(m)));
  if (rd.readStates.length > 0) lines.push('ReadStates:', ...rd.readStates.map((r) => `Index:${r.index} Context:${JSON.stringify(r.context)}`));
  return lines;
}

function formatProgress(id: string, p: PeerProgress): string {
  const flags = [p.learner ? 'learner' : 'voter', p.recentActive ? 'active' : 'inactive'];
  return `${id}: ${p.state} match=${p.match} next=${p.next} inflight=${p.inflight} ${flags.join(' ')}`;
}

/** One line of the node's view, the progress of its peers when it leads. */
export function formatStatus(st: Status): string[] {
  const lines = [
    `${st.id}: ${st.role} term=${st.term} vote=${st.vote ?? '-'} lead=${st.leaderId ?? '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}`,
    `${formatConf(st.conf)}${st.leadTransferee === null ? '' : ` transferee=${st.leadTransferee}`}`,
  ];
  if (st.progress !== null) {
    const ids = [...st.progress.keys()].sort(compareIds);
    for (const id of ids) lines.push(formatProgress(id, st.progress.get(id)!));
  }
  return lines;
}

/** Node ids are decimal strings in scenarios: order them numerically. */
export function compareIds(a: string, b: string): number {
  return Number(a) - Number(b) || a.localeCompare(b);
}

/** The one-line summary used by `raft-state`. */
export function formatRaftState(st: Status): string {
  const member = st.conf.voters.includes(st.id) ? 'voter' : st.conf.learners.includes(st.id) ? 'learner' : 'not a member';
  return `${st.id}: ${st.role} term=${st.term} vote=${st.vote ?? '-'} lead=${st.leaderId ?? '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex} (${member})`;
}
