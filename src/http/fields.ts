import { ValidationError } from '../errors.ts';

/** DRF's messages, verbatim. */
const REQUIRED = 'This field is required.';
const BLANK = 'This field may not be blank.';
const NULL = 'This field may not be null.';
const NOT_A_STRING = 'Not a valid string.';
/** Django's `ProhibitNullCharactersValidator`, which DRF's `CharField` runs (PostgreSQL cannot store U+0000). */
const NULL_CHARACTERS = 'Null characters are not allowed.';

/** Python's name for a JSON value's type, as DRF prints it. */
function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'dict';
}

/**
 * Reads required string fields as a DRF serializer of `CharField`s does: the body must be an object;
 * each field must be present, not null, a string (numbers are turned into strings, as DRF does), and
 * not blank once trimmed. Every failing field is reported at once, in the order given.
 */
export function readCharFields<const K extends string>(data: unknown, names: readonly K[]): Record<K, string> {
  if (data === null) throw new ValidationError({ non_field_errors: [NULL] });
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError({
      non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonTypeName(data)}.`],
    });
  }
  const source = data as Record<string, unknown>;
  const values = {} as Record<K, string>;
  const errors: Record<string, string[]> = {};
  for (const name of names) {
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    if (value === undefined) errors[name] = [REQUIRED];
    else if (value === null) errors[name] = [NULL];
    else if (typeof value === 'number' && Number.isFinite(value)) values[name] = String(value);
    else if (typeof value !== 'string') errors[name] = [NOT_A_STRING];
    else if (value.trim() === '') errors[name] = [BLANK];
    else if (value.includes('\0')) errors[name] = [NULL_CHARACTERS];
    else values[name] = value.trim();
  }
  if (Object.keys(errors).length) throw new ValidationError(errors);
  return values;
}
