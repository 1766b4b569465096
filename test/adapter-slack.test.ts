// The Slack adapter (Socket Mode, real @slack/socket-mode + WebClient) passes the shared contract
// against the fake Slack.
import { SlackAdapter } from '../src/adapters/slack/adapter.ts';
import { defaultConfig } from '../src/core/config/load.ts';
import { runAdapterContract } from './contract/adapter-contract.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack.ts';
import { quietLog, testHttp } from './helpers/pipeline.ts';

let fake: FakeSlack;
const events = new Map<string, object>();
let n = 0;

runAdapterContract({
  name: 'slack (socket mode)',
  maxMessage: 4000,
  async setup() {
    fake = await startFakeSlack();
    const log = await quietLog();
    const http = testHttp(log);
    const d = defaultConfig().adapters.slack;
    return new SlackAdapter({
      config: { ...d, enabled: true, botToken: fake.botToken, appToken: fake.appToken, apiUrl: `${fake.url}/api/` },
      http,
      log,
    });
  },
  async say(text) {
    const event = fake.directMessage({ channel: 'D0CONTRACT', user: 'U0PERSON', text });
    const handle = `h${++n}`;
    events.set(handle, event);
    fake.pushEvent(event);
    return handle;
  },
  async redeliver(handle) {
    fake.pushEvent(events.get(handle)!);
  },
  sent: () => fake.posted.filter((p) => p.method === 'chat.postMessage').map((p) => p.text ?? ''),
  rateLimitNextSend: (s) => fake.failNext('chat.postMessage', { status: 429, retryAfter: s }),
  outage: () => fake.dropAll(),
  async teardown() {
    await fake.close();
  },
});
