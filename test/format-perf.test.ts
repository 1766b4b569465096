// Rendering cost: a 50 KB reply in a few ms, and hostile inputs (delimiter floods, unclosed brackets,
// huge clusters) in well under 100 ms: nothing in the parser or splitter is quadratic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMessages, type RenderOptions } from '../src/adapters/format/index.ts';

const TG: RenderOptions = { markup: 'telegram-html', limit: 4096, unit: 'utf16' };

/** Best of `runs` wall-clock times, in ms (the machines running tests are noisy). */
function best(md: string, opts: RenderOptions, runs = 3): { ms: number; messages: number } {
  let ms = Infinity, messages = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    messages = renderMessages(md, opts).length;
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, messages };
}

function reply50k(): string {
  const para = (k: number) => Array.from({ length: 8 }, (_, i) => `Word${i} **bold ${k}** and _it_ with \`code\` [link](https://example.com/${k}/${i}) & <tag> 中文内容，测试。`).join(' ');
  let md = '';
  for (let k = 0; md.length < 50_000; k++) {
    md += `## Heading ${k}\n\n${para(k)}\n\n- item one ${k}\n- item **two**\n  - nested\n\n\`\`\`ts\nconst x = ${k};\nfunction f(a: number) { return a < 2 && a > 0; }\n\`\`\`\n\n> quoted ${k}\n\n| a | b |\n|---|---|\n| ${k} | 👍🏽 |\n\n`;
  }
  return md;
}

describe('format: performance', () => {
  const md = reply50k();
  const t0 = performance.now();
  const coldMessages = renderMessages(md, TG).length;
  const cold = performance.now() - t0; // first call in the process: includes compiling the code paths

  it('renders a 50 KB reply in a few ms', (t) => {
    t.diagnostic(`cold (first call in the process): ${(md.length / 1000).toFixed(1)} KB → ${coldMessages} messages in ${cold.toFixed(1)} ms`);
    assert.ok(cold < 400, `cold: ${cold} ms`);
    for (const opts of [TG, { markup: 'slack-mrkdwn', limit: 3000, unit: 'chars' }, { markup: 'plain', limit: 2048, unit: 'bytes' }] as const) {
      best(md, opts, 3); // warm up
      const r = best(md, opts, 5);
      t.diagnostic(`${opts.markup}: ${(md.length / 1000).toFixed(1)} KB → ${r.messages} messages in ${r.ms.toFixed(1)} ms`);
      assert.ok(r.ms < 30, `${opts.markup}: ${r.ms} ms`);
    }
  });

  it('pathological inputs finish in < 100 ms', (t) => {
    const cases: [string, string, RenderOptions?][] = [
      ["'*' x 50000", '*'.repeat(50_000)],
      ["'_a' x 20000", '_a'.repeat(20_000)],
      ["'*a ' x 17000", '*a '.repeat(17_000)],
      ["'a* ' x 17000", 'a* '.repeat(17_000)],
      ["'**a ' x 12000", '**a '.repeat(12_000)],
      ['nested emphasis', `${'*a '.repeat(5000)}b${' a*'.repeat(5000)}`],
      ["'~~a ' x 12000", '~~a '.repeat(12_000)],
      ["'[' x 50000", '['.repeat(50_000)],
      ["'[](' x 17000", '[]('.repeat(17_000)],
      ["'[a](b' x 10000", '[a](b'.repeat(10_000)],
      ["'](' x 25000", ']('.repeat(25_000)],
      ["'<' x 50000", '<'.repeat(50_000)],
      ["'<a' x 25000", '<a'.repeat(25_000)],
      ["'` ``' x 12000", '` ``'.repeat(12_000)],
      ["'>' x 50000", '>'.repeat(50_000)],
      ["'- ' nested x 3000", Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i % 40)}- x`).join('\n')],
      ["'> ' x 25000 lines", '> a\n'.repeat(12_500)],
      ['50000 spaces', `${' '.repeat(50_000)}a`],
      ["'http://' x 7000", 'http://'.repeat(7000)],
      ['CJK without punctuation, 1000 bytes', '中文测试没有标点符号的句子'.repeat(4000), { markup: 'plain', limit: 1000, unit: 'bytes' }],
      ['emoji ZWJ sequences', '👨‍👩‍👧‍👦'.repeat(5000)],
      ['one cluster of 20000 marks', `a${'\u0301'.repeat(20_000)}`, { markup: 'telegram-html', limit: 100, unit: 'utf16' }],
      ['25000 lines', 'a\n'.repeat(25_000)],
      ['5000-row table', `| a | b |\n|---|---|\n${'| x | y |\n'.repeat(5000)}`],
    ];
    for (const [name, md, opts] of cases) {
      const r = best(md, opts ?? TG);
      t.diagnostic(`${name.padEnd(36)} ${(md.length / 1000).toFixed(0).padStart(3)} KB → ${String(r.messages).padStart(3)} messages, ${r.ms.toFixed(1)} ms`);
      assert.ok(r.ms < 100, `${name}: ${r.ms} ms`);
      assert.ok(r.messages >= 1 || md.trim() === '' || /^[*_[\]`]+$/.test(md), `${name}: no output`);
    }
  });
});
