// Expected failures of the secrets package, one class per failure with a stable `name`.

/** A string given as an API token is not one (`otm_<id>_<secret>`). */
export class MalformedApiTokenError extends Error {
  override readonly name = 'MalformedApiTokenError';
}

/** A string given as a join token does not decode. */
export class InvalidJoinTokenError extends Error {
  override readonly name = 'InvalidJoinTokenError';
}

/** A stored password hash is not in the `scrypt$N$r$p$salt$hash` format, or has parameters
 *  outside the accepted bounds. */
export class PasswordHashFormatError extends Error {
  override readonly name = 'PasswordHashFormatError';
}
