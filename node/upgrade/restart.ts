// How a node restarts into a new executable (an adapter: processes). The node is stopped first
// (HTTP and p2p listeners closed, the Raft log closed and its lock released), so the new
// process can take the ports and the data dir at once. Under systemd (INVOCATION_ID is set in
// a unit's environment) the process just exits 0 and Restart=always starts the new file;
// otherwise it starts `<exe> start --data-dir DIR` itself, in a session of its own (setsid), with
// the same environment, working directory and output (a log file stays the log file), and exits.
import { spawn } from 'node:child_process';

export interface RestartPlan {
  /** 'systemd': exit and let the unit start it again; 'spawn': start the new process here. */
  readonly how: 'systemd' | 'spawn';
  readonly argv: readonly string[];
}

/** The command line a node restarts with. A node first run by `init` or `join` must come back
 *  with `start` (those refuse a data dir that holds a node), so it is always `start`. */
export function restartPlan(exePath: string, dataDir: string, env: NodeJS.ProcessEnv): RestartPlan {
  const how = env['INVOCATION_ID'] !== undefined && env['INVOCATION_ID'] !== '' ? 'systemd' : 'spawn';
  return { how, argv: [exePath, 'start', '--data-dir', dataDir] };
}

/** Requests still open this long after the stop began are cut (a dashboard's event stream,
 *  a slow viewer): the node is drained, and its clients reconnect elsewhere. */
export const connectionGraceMs = 3_000;
/** Bound on the whole stop; past it the process exits anyway (which releases the data dir). */
export const stopTimeoutMs = 20_000;

/** Stops the node, then either exits for systemd or starts the new process and exits. Never
 *  returns: the process ends. */
export async function restartInto(plan: RestartPlan, parts: { stop: () => Promise<void>; closeConnections: () => void }, log: (line: string) => void): Promise<never> {
  log(plan.how === 'systemd' ? 'restarting: exiting for systemd to start the new executable' : `restarting: ${plan.argv.join(' ')}`);
  const cut = setTimeout(() => parts.closeConnections(), connectionGraceMs);
  let giveUp: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'timeout'>((resolve) => { giveUp = setTimeout(() => resolve('timeout'), stopTimeoutMs); });
  try {
    const how = await Promise.race([parts.stop().then(() => 'stopped' as const), outOfTime]);
    if (how === 'timeout') log(`the node did not stop within ${stopTimeoutMs / 1000} s: restarting anyway`);
  } catch (err) {
    log(`while stopping for the restart: ${(err as Error).message}`);
  } finally {
    clearTimeout(cut);
    clearTimeout(giveUp);
  }
  if (plan.how === 'spawn') {
    const child = spawn(plan.argv[0]!, plan.argv.slice(1), { detached: true, stdio: 'inherit', env: process.env, cwd: process.cwd() });
    // A failed spawn (the file vanished) must still end this process: the operator's supervisor
    // or the rollout's health wait then tells what happened.
    child.on('error', (err) => console.error(`ottmesh: could not start ${plan.argv[0]}: ${err.message}`));
    child.unref();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.exit(0);
}
