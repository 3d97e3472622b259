// The bodies of the join protocol and their checks. Both sides parse what the other sent with
// these functions, so a malformed or oversized body is refused with a message naming the field.

/** What a new node sends: proof of its token, and how the cluster will reach it. Its node id is
 *  not in the body: the server takes it from the connection (proven by the handshake). */
export interface JoinRequest {
  readonly tokenId: string;
  readonly secret: string;
  readonly name: string;
  /** Groups the node asks for; the token's groups are what the server grants. */
  readonly groups?: readonly string[];
  /** Its libp2p multiaddrs (with /p2p/<id>). */
  readonly addrs: readonly string[];
  readonly httpUrl: string;
}

export interface JoinMember {
  readonly id: string;
  readonly addrs: readonly string[];
  readonly httpUrl: string;
}

export type JoinResponse =
  | { readonly ok: true; readonly clusterId: string; readonly members: readonly JoinMember[] }
  | { readonly ok: false; readonly reason: string };

/** Bounds on what either side accepts. */
export const maxJoinRequestBytes = 16 * 1024;
export const maxJoinResponseBytes = 4 * 1024 * 1024;
export const maxJoinStringLength = 512;
export const maxJoinGroups = 32;
export const maxJoinAddrs = 16;
export const maxJoinMembers = 10_000;
export const maxJoinReasonLength = 1_000;

type Fields = Record<string, unknown>;

function object(v: unknown, what: string): Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what} must be a JSON object`);
  return v as Fields;
}

function str(o: Fields, key: string, what: string, maxLength = maxJoinStringLength): string {
  const v = o[key];
  if (typeof v !== 'string') throw new TypeError(`${what}.${key} must be a string`);
  if (v.length > maxLength) throw new TypeError(`${what}.${key} is longer than ${maxLength} characters`);
  return v;
}

function strings(o: Fields, key: string, what: string, maxItems: number): string[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new TypeError(`${what}.${key} must be an array of strings`);
  if (v.length > maxItems) throw new TypeError(`${what}.${key} has more than ${maxItems} items`);
  return v.map((item, i) => {
    if (typeof item !== 'string' || item.length > maxJoinStringLength) {
      throw new TypeError(`${what}.${key}[${i}] must be a string of at most ${maxJoinStringLength} characters`);
    }
    return item;
  });
}

/** Check a parsed request body; throws TypeError naming the bad field. Unknown fields are dropped. */
export function parseJoinRequest(body: unknown): JoinRequest {
  const o = object(body, 'join request');
  const request: JoinRequest = {
    tokenId: str(o, 'tokenId', 'join request'),
    secret: str(o, 'secret', 'join request'),
    name: str(o, 'name', 'join request'),
    addrs: strings(o, 'addrs', 'join request', maxJoinAddrs),
    httpUrl: str(o, 'httpUrl', 'join request'),
  };
  return o['groups'] === undefined ? request : { ...request, groups: strings(o, 'groups', 'join request', maxJoinGroups) };
}

/** Check a parsed response body; throws TypeError naming the bad field. */
export function parseJoinResponse(body: unknown): JoinResponse {
  const o = object(body, 'join response');
  if (o['ok'] === false) return { ok: false, reason: str(o, 'reason', 'join response', maxJoinReasonLength) };
  if (o['ok'] !== true) throw new TypeError('join response.ok must be true or false');
  const list = o['members'];
  if (!Array.isArray(list)) throw new TypeError('join response.members must be an array');
  if (list.length > maxJoinMembers) throw new TypeError(`join response.members has more than ${maxJoinMembers} items`);
  const members = list.map((item, i) => {
    const what = `join response.members[${i}]`;
    const m = object(item, what);
    return { id: str(m, 'id', what), addrs: strings(m, 'addrs', what, maxJoinAddrs), httpUrl: str(m, 'httpUrl', what) };
  });
  return { ok: true, clusterId: str(o, 'clusterId', 'join response'), members };
}
