// doctor on memory and media: the embedding model down → memory warns it runs on full-text search;
// the vision model checked through /api/show (exists, can see).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOllama } from './fakes/ollama.ts';
import { runCli, scratch } from './helpers/cli.ts';

interface Report { checks: { name: string; status: string; detail: string }[] }

describe('doctor: memory and vision', () => {
  const s = scratch();
  let model: Awaited<ReturnType<typeof startFakeOllama>>;
  before(async () => { model = await startFakeOllama({ models: ['llama3.2:latest', 'llava:latest', 'nomic-embed-text:latest'] }); });
  after(async () => { await model.close(); s.cleanup(); });
  const doctor = async (yaml: string) => {
    const cfg = s.write(`c${Math.random().toString(36).slice(2)}.yaml`, `system: { data_dir: ./data }\nmodels:\n  default: { provider: ollama, endpoint: "${model.url}", model: llama3.2 }\n${yaml}`);
    const r = await runCli(['doctor', '--json', '--config', cfg], { env: s.env, cwd: s.dir });
    return JSON.parse(r.stdout) as Report;
  };
  const check = (r: Report, name: string) => r.checks.find((c) => c.name === name);

  it('memory: a missing embedding model is a warning that names the fallback; a present one is ok', async () => {
    const down = await doctor(`  embedding: { provider: ollama, endpoint: "${model.url}", model: no-such-embedder }\nmemory: { enabled: true }\n`);
    assert.equal(check(down, 'memory')?.status, 'warn');
    assert.match(check(down, 'memory')!.detail, /full-text search alone/);
    const up = await doctor(`  embedding: { provider: ollama, endpoint: "${model.url}", model: nomic-embed-text }\nmemory: { enabled: true }\n`);
    assert.equal(check(up, 'memory')?.status, 'ok', JSON.stringify(check(up, 'memory')));
  });

  it('vision: a model that can see is ok, one that cannot is a warning, a missing one fails', async () => {
    const media = (m: string) => `media_processors: { image_analysis: { model: ${m} } }\n`;
    assert.equal(check(await doctor(media('llava')), 'vision model')?.status, 'ok');
    assert.equal(check(await doctor(media('llama3.2')), 'vision model')?.status, 'warn');
    assert.equal(check(await doctor(media('no-such-model')), 'vision model')?.status, 'fail');
  });

  it('vision: an endpoint that does not answer is one failure (the endpoint\'s), not also "pull the model"', async () => {
    const cfg = s.write('down.yaml', 'system: { data_dir: ./data }\nmodels:\n  default: { provider: ollama, endpoint: "http://127.0.0.1:1", model: llama3.2 }\nmedia_processors: { image_analysis: { model: llava } }\n');
    const r = JSON.parse((await runCli(['doctor', '--json', '--config', cfg], { env: s.env, cwd: s.dir })).stdout) as Report;
    assert.equal(check(r, 'model endpoint')?.status, 'fail');
    const vision = check(r, 'vision model');
    assert.equal(vision?.status, 'skip', JSON.stringify(vision));
    assert.doesNotMatch(vision!.detail, /ollama pull/);
  });
});
