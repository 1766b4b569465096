// The message shape our own clients send (WebSocket frames and REST bodies share it):
// {"text": "...", "id"?: "m1", "user"?: "u1", "chat"?: "c1"}.
export interface ClientMessage {
  readonly text: string;
  readonly id: string | undefined;
  readonly user: string | undefined;
  readonly chat: string | undefined;
}

/** Longest text accepted from a client; a model prompt beyond this is a mistake, not a question. */
export const MAX_TEXT = 32_000;
const MAX_ID = 200;

export function parseClientMessage(body: unknown): ClientMessage | { error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'expected a JSON object' };
  const b = body as Record<string, unknown>;
  if (typeof b.text !== 'string' || b.text.trim() === '') return { error: '"text" must be a non-empty string' };
  if (b.text.length > MAX_TEXT) return { error: `"text" is longer than ${MAX_TEXT} characters` };
  for (const k of ['id', 'user', 'chat'] as const) {
    const v = b[k];
    if (v !== undefined && (typeof v !== 'string' || v === '' || v.length > MAX_ID)) return { error: `"${k}" must be a non-empty string of at most ${MAX_ID} characters` };
  }
  return { text: b.text, id: b.id as string | undefined, user: b.user as string | undefined, chat: b.chat as string | undefined };
}
