// Option checks shared by the scripts' command lines.

/** `value` as an integer of at least `min` (`fallback` when absent); otherwise says what was
 *  wrong, with the usage, and exits 2. */
export function integerOption(name: string, value: string | undefined, fallback: number, min: number, usage: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${value}\n${usage}`);
    process.exit(2);
  }
  return n;
}
