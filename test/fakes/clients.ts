// Driving the fake model servers from tests of the fakes: the real `ollama` client, fetch for the
// OpenAI-compatible one (its SSE parsed line by line), and a tool-using behaviour that records requests.
import assert from 'node:assert/strict';
import { Ollama } from 'ollama';
import { type ReplyRequest, toolBehaviour } from './model-behaviour.ts';
import { startFakeOllama } from './ollama.ts';
import { startFakeOpenAI } from './openai.ts';

type ClientError = { name?: string; status_code?: number; error?: string; message?: string };

export function expectResponseError(status: number, text: string) {
  return (err: unknown): boolean => {
    const e = err as ClientError;
    assert.equal(e.name, 'ResponseError');
    assert.equal(e.status_code, status);
    assert.equal(e.error, text);
    return true;
  };
}

export const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

/** A tool-using fake model that also keeps every request it was asked, in the neutral shape. */
export function recordingTools(rules: Parameters<typeof toolBehaviour>[0]) {
  const seen: ReplyRequest[] = [];
  const behave = toolBehaviour(rules);
  return { seen, reply: (r: ReplyRequest) => (seen.push(r), behave(r)) };
}

export async function ollamaFake(t: { after: (fn: () => Promise<void>) => void }, opts?: Parameters<typeof startFakeOllama>[0]) {
  const fake = await startFakeOllama(opts);
  t.after(() => fake.close());
  return { fake, client: new Ollama({ host: fake.url }) };
}

export async function openaiFake(t: { after: (fn: () => Promise<void>) => void }, opts?: Parameters<typeof startFakeOpenAI>[0]) {
  const fake = await startFakeOpenAI(opts);
  t.after(() => fake.close());
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fake.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { fake, post };
}

/** Reads an SSE body line by line: returns the `data:` payloads, checking the framing on the way. */
export async function readSse(res: Response): Promise<string[]> {
  const text = await res.text();
  assert.ok(text.endsWith('\n\n'), 'the stream ends with a complete event');
  const events: string[] = [];
  let data: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') {
      if (data.length) events.push(data.join('\n'));
      data = [];
      continue;
    }
    assert.ok(line.startsWith('data: '), `unexpected SSE line: ${line}`);
    data.push(line.slice('data: '.length));
  }
  assert.equal(data.length, 0);
  return events;
}
