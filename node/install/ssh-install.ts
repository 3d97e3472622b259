// One install over SSH, step by step (docs/install-ssh.md): log in with the key after checking
// the host key the operator confirmed, check the server (root or passwordless sudo, a supported
// system, curl or wget), create a one-use join token, run install.sh from this node with the
// server's output streamed into the progress, and wait until the new node is a member. Every
// step has a timeout; every failure is an InstallFailure with a kind and what to do. The I/O
// comes in as InstallDeps, so the flow is tested against a fake server too.
import { InstallFailure, redact } from './ssh-errors.ts';
import { decideInstall, doneLinePrefix, factsScript, installCommandLine, installOutcome, installScriptArgs, nodeNameFor, parseFacts, shellWord } from './ssh-plan.ts';
import type { InstallScriptOptions } from './ssh-plan.ts';
import type { RemoteShell, SshLogin } from './ssh-session.ts';

/** What the operator asked for (no secrets: those are InstallSecrets). */
export interface InstallSpec {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The host key fingerprint the operator confirmed (normalized, OpenSSH format). */
  readonly hostKeyFingerprint: string;
  /** The new node's name; null: the server's host name. */
  readonly name: string | null;
  readonly groups: readonly string[];
  /** This node's URL as the server reaches it (install.sh and the executable come from it). */
  readonly baseUrl: string;
  /** install.sh's options besides the name. */
  readonly script: Omit<InstallScriptOptions, 'name'>;
}

/** The login key, held only until the login is done (then zeroed by runInstall). */
export interface InstallSecrets {
  readonly privateKey: Buffer;
  readonly passphrase: Buffer | null;
}

export interface InstallDeps {
  /** openSession (ssh-session.ts) with this node's timeouts. */
  connect(login: SshLogin, fingerprint: string): Promise<RemoteShell>;
  /** A join token for one server into `groups`, created through the cluster as the operator;
   *  throws InstallFailure token-refused. */
  createJoinToken(groups: readonly string[]): Promise<string>;
  /** The member named `name` in this node's applied state, and whether gossip sees it alive. */
  nodeNamed(name: string): { id: string; alive: boolean } | null;
  sleep(ms: number): Promise<void>;
}

export interface InstallTimeouts {
  /** Checking the server (one short script). */
  readonly checkMs: number;
  /** install.sh from start to end (it may install ffmpeg with the package manager). */
  readonly installMs: number;
  /** From install.sh's done line to the node in this node's state. */
  readonly joinWaitMs: number;
  /** Then until gossip reports it alive (unless no service was started). */
  readonly aliveWaitMs: number;
  /** From install.sh's done line to the end of its SSH session, before it is closed. */
  readonly sessionEndGraceMs: number;
}

export const defaultInstallTimeouts: InstallTimeouts = { checkMs: 30_000, installMs: 20 * 60_000, joinWaitMs: 60_000, aliveWaitMs: 60_000, sessionEndGraceMs: 10_000 };
/** How often the wait for the new node looks at the state. */
const joinPollMs = 500;

export interface InstallReport {
  progress(line: string): void;
  state(state: 'connecting' | 'running'): void;
}

/** Runs the install; resolves with the new node's id. Throws InstallFailure (and nothing else,
 *  barring bugs). `signal` stops it between steps and closes the connection. */
export async function runInstall(spec: InstallSpec, secrets: InstallSecrets, deps: InstallDeps, report: InstallReport, timeouts: InstallTimeouts, signal: AbortSignal): Promise<{ nodeId: string }> {
  const where = `${spec.user}@${spec.host}${spec.port === 22 ? '' : `:${spec.port}`}`;
  report.state('connecting');
  report.progress(`connecting to ${where}`);
  let shell: RemoteShell;
  try {
    checkAborted(signal);
    shell = await deps.connect({ host: spec.host, port: spec.port, user: spec.user, ...secrets }, spec.hostKeyFingerprint);
  } finally {
    wipe(secrets);
  }
  const onAbort = () => shell.close();
  signal.addEventListener('abort', onAbort);
  try {
    report.state('running');
    report.progress(`logged in to ${where}; its host key is ${spec.hostKeyFingerprint}, as confirmed`);
    checkAborted(signal);
    const checked = await shell.run(`sh -c ${shellWord(factsScript)}`, { what: 'checking the server', timeoutMs: timeouts.checkMs });
    const facts = parseFacts(checked.stdout);
    if (facts === null) {
      const said = `${checked.stdout}${checked.stderr}`.trim().split('\n')[0] ?? '';
      throw new InstallFailure('no-shell', `the login shell of ${spec.user} on ${spec.host} runs no commands${said === '' ? '' : ` (it said "${said.slice(0, 200)}")`}: log in as root, or as a user with a shell and passwordless sudo`);
    }
    const plan = decideInstall(facts, spec);
    if (plan instanceof InstallFailure) throw plan;
    report.progress(`the server: ${plan.system}; ${plan.privilege === 'root' ? 'logged in as root' : `root through sudo as ${spec.user}`}; downloads with ${plan.downloader}`);
    const name = nodeNameFor(spec.name, facts.hostname);
    if (name instanceof InstallFailure) throw name;
    if (deps.nodeNamed(name) !== null) throw new InstallFailure('bad-name', `a node named ${name} is already in the cluster: give the new server another name`);

    checkAborted(signal);
    const token = await deps.createJoinToken(spec.groups);
    report.progress(`created a join token for one server${spec.groups.length === 0 ? '' : ` in groups ${spec.groups.join(', ')}`}`);
    const args = installScriptArgs({ ...spec.script, name });
    const { command, shown } = installCommandLine({ baseUrl: spec.baseUrl, token, plan, args });
    report.progress(`running: ${shown}`);
    checkAborted(signal);
    const lines: string[] = [];
    const result = await shell.run(command, {
      what: 'install.sh', timeoutMs: timeouts.installMs,
      onLine: (line) => {
        const clean = redact(line, [token]);
        lines.push(clean);
        report.progress(clean);
      },
      lastLine: { matches: (line) => line.startsWith(doneLinePrefix), graceMs: timeouts.sessionEndGraceMs },
    });
    checkAborted(signal);
    if (result.cutShort === true) {
      report.progress(`install.sh said done, but its SSH session was still open ${timeouts.sessionEndGraceMs / 1000} s later (something it started holds the session's output): closed it`);
    }
    const failure = installOutcome(result.cutShort === true ? 0 : result.code, lines, spec.host);
    if (failure !== null) throw failure;
    return { nodeId: await awaitMember(name, spec, deps, report, timeouts, signal) };
  } finally {
    signal.removeEventListener('abort', onAbort);
    shell.close();
  }
}

/** Waits (bounded) until `name` is a member, then (bounded) until it is seen alive. */
async function awaitMember(name: string, spec: InstallSpec, deps: InstallDeps, report: InstallReport, timeouts: InstallTimeouts, signal: AbortSignal): Promise<string> {
  const member = await poll(() => deps.nodeNamed(name), timeouts.joinWaitMs, deps, signal);
  if (member === null) {
    throw new InstallFailure('not-joined', `install.sh said it was done, but no node named ${name} joined within ${timeouts.joinWaitMs / 1000} s: ` +
      `see the node's log on ${spec.host} (journalctl -u ottmesh, or ottmesh.log in its data directory)`);
  }
  report.progress(`node ${name} (${member.id}) is a member of the cluster`);
  if (spec.script.noService === true) {
    report.progress(`no service was started (noService): start the node on ${spec.host} to see it alive`);
    return member.id;
  }
  const alive = await poll(() => (deps.nodeNamed(name)?.alive === true ? true : null), timeouts.aliveWaitMs, deps, signal);
  report.progress(alive === null
    ? `node ${name} is not reported alive yet after ${timeouts.aliveWaitMs / 1000} s: see the Cluster page, and its log on ${spec.host}`
    : `node ${name} is alive`);
  return member.id;
}

async function poll<T>(probe: () => T | null, timeoutMs: number, deps: InstallDeps, signal: AbortSignal): Promise<T | null> {
  for (let waitedMs = 0; ; waitedMs += joinPollMs) {
    checkAborted(signal);
    const found = probe();
    if (found !== null) return found;
    if (waitedMs >= timeoutMs) return null;
    await deps.sleep(joinPollMs);
  }
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InstallFailure('canceled', 'the install was stopped because this node is shutting down: run it again from a running node');
}

/** Zeroes the key material (JavaScript strings cannot be wiped; the buffers can). */
export function wipe(secrets: InstallSecrets): void {
  secrets.privateKey.fill(0);
  secrets.passphrase?.fill(0);
}
