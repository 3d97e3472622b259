// The state package's errors, one class per failure with a stable `name`.
//
// Two kinds: InvalidCommandError is expected (a caller built a bad command; nothing was
// proposed). The others are broken invariants met while applying committed entries or
// restoring a snapshot: the node must stop, because skipping an entry would make it diverge.

/** encodeCommand refused a command that does not match its schema: it never reaches the log. */
export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError';
}

/** A committed entry holds a command type this version does not know. */
export class UnknownCommandError extends Error {
  override readonly name = 'UnknownCommandError';
  readonly commandType: string;
  constructor(commandType: unknown, index?: number) {
    const type = typeof commandType === 'string' ? commandType : JSON.stringify(commandType) ?? 'undefined';
    super(`${index === undefined ? 'a committed entry' : `committed entry ${index}`} holds a command of type "${type}" that this ottmesh ` +
      'version does not know: a newer version wrote it. Upgrade this node to the version the rest of the cluster runs, then start it again');
    this.commandType = type;
  }
}

/** A committed entry does not decode as a command of a known type. */
export class CorruptCommandError extends Error {
  override readonly name = 'CorruptCommandError';
}

/** A snapshot of the cluster state does not decode. */
export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
}

/** The result of an applied proposal was no longer recorded (more than the bound of results
 *  were applied before it was asked for). The command was applied: read the state to see how. */
export class ResultUnavailableError extends Error {
  override readonly name = 'ResultUnavailableError';
  constructor(index: number, keptMax: number) {
    super(`the result of entry ${index} is no longer kept (only the last ${keptMax} are): the command was applied, check the state`);
  }
}
