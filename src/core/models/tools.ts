// What both providers need to turn a model's tool call into a ToolCall: an id when the wire has none,
// and reading the arguments without ever throwing (a model's malformed JSON is the model's mistake,
// answered to the model, not a failed turn).

let seq = 0;

/** An id for a call the provider did not name; unique within the process, which is all pairing needs. */
export function localCallId(): string {
  return `call_local_${++seq}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Arguments sent as JSON text (OpenAI): an object, or the reason they are unusable. */
export function readArguments(raw: string): { arguments: Record<string, unknown>; argumentsError: string | undefined } {
  // A call without parameters may come with no argument text at all.
  if (raw.trim() === '') return { arguments: {}, argumentsError: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { arguments: {}, argumentsError: `the arguments are not valid JSON (${(err as Error).message})` };
  }
  return objectArguments(parsed);
}

/** Arguments sent as a JSON value (Ollama): they must be an object. */
export function objectArguments(value: unknown): { arguments: Record<string, unknown>; argumentsError: string | undefined } {
  if (isPlainObject(value)) return { arguments: value, argumentsError: undefined };
  // Go marshals an empty (nil) argument map as null: a call without parameters.
  if (value === null || value === undefined) return { arguments: {}, argumentsError: undefined };
  return { arguments: {}, argumentsError: `the arguments must be a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}` };
}
