// A photo with a caption in Telegram reaches the vision model: getFile + download under the cap, the
// type from the bytes, the caption as the question; a PDF document is read and answered.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { TelegramAdapter } from '../src/adapters/telegram/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import type { ChatRequest, ModelClient } from '../src/core/models/types.ts';
import { startFakeTelegram } from './fakes/telegram.ts';
import { pdfWith, pngPixel } from './helpers/files.ts';
import { pipeline, quietLog, testHttp, until, type Pipeline } from './helpers/pipeline.ts';

describe('media from Telegram', () => {
  const requests: ChatRequest[] = [];
  const model: ModelClient = {
    provider: 'ollama', endpoint: 'scripted',
    chat: async (req) => {
      requests.push(req);
      return { text: 'seen', toolCalls: [], model: req.model ?? 'llama3.2', promptTokens: 1, completionTokens: 1 };
    },
    listModels: async () => ['llama3.2', 'llava'],
  };
  let p: Pipeline | undefined;
  let close: (() => Promise<void>) | undefined;
  after(async () => { await p?.close(); await close?.(); });

  it('a photo with a caption and a PDF document are answered through the media processors', async () => {
    const tg = await startFakeTelegram();
    close = () => tg.close();
    const log = await quietLog();
    const d = defaultConfig();
    const config = { ...d, media: { ...d.media, image: { ...d.media.image, model: 'llava' } } };
    const adapter = new TelegramAdapter({ config: { ...d.adapters.telegram, enabled: true, token: tg.token, apiRoot: tg.apiRoot }, http: testHttp(log), log });
    p = await pipeline(adapter, { log, config, model });

    tg.pushUpdate(tg.photoMessage({ chatId: 9001, chatType: 'private', from: { id: 9001, first_name: 'Eve' }, bytes: pngPixel(), caption: 'what is this?' }));
    await until('the vision request', () => requests.length >= 1, 5000);
    const img = requests[0]!;
    assert.equal(img.model, 'llava');
    const user = img.messages.at(-1)! as { content: string; images?: readonly string[] };
    assert.equal(user.content, 'what is this?');
    assert.deepEqual(user.images, [pngPixel().toString('base64')]);

    tg.pushUpdate(tg.documentMessage({ chatId: 9001, chatType: 'private', from: { id: 9001, first_name: 'Eve' }, bytes: pdfWith('Meeting moved to Thursday 10:00'), fileName: 'memo.pdf', mimeType: 'application/pdf' }));
    await until('the document request', () => requests.length >= 2, 5000);
    assert.match(JSON.stringify(requests[1]!.messages), /Thursday 10:00/);
    await until('both answers sent', () => tg.sent.filter((m) => m.chat.id === 9001).length >= 2, 5000);
  });
});
