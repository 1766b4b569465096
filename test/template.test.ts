import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, renderTemplate, TEMPLATE_VARIABLES, TemplateError } from '../src/core/template.ts';

const vars = {
  system: { name: 'MyAIAssistant', timezone: 'Asia/Shanghai' },
  user: { id: 'u1', name: 'Ada', role: 'user' },
  chat: { id: 'c1' },
  platform: 'telegram',
  input: 'hello {{system.name}}',
  date: '2026-11-25',
  time: '09:30',
};

describe('templates', () => {
  it('renders dotted variables, spaces inside the braces allowed', () => {
    const t = compileTemplate('Hi {{user.name}}, I am {{ system.name }} on {{platform}}. Today is {{date}} {{time}}.', TEMPLATE_VARIABLES);
    assert.equal(t.render(vars), 'Hi Ada, I am MyAIAssistant on telegram. Today is 2026-11-25 09:30.');
    assert.deepEqual(t.vars, ['user.name', 'system.name', 'platform', 'date', 'time']);
  });

  it('values are inserted as text, never expanded again', () => {
    assert.equal(compileTemplate('You said: {{input}}', TEMPLATE_VARIABLES).render(vars), 'You said: hello {{system.name}}');
  });

  it('missing values render empty; text without placeholders is unchanged', () => {
    assert.equal(compileTemplate('[{{user.name}}]', TEMPLATE_VARIABLES).render({}), '[]');
    assert.equal(compileTemplate('no {braces} here }}', TEMPLATE_VARIABLES).render(vars), 'no {braces} here }}');
    assert.deepEqual(compileTemplate('', TEMPLATE_VARIABLES).vars, []);
  });

  it('rejects unknown variables at compile time, with a hint', () => {
    assert.throws(
      () => compileTemplate('Hi {{user.nmae}}', TEMPLATE_VARIABLES),
      (e: unknown) => e instanceof TemplateError && e.variable === 'user.nmae' && e.offset === 3 && /did you mean \{\{user\.name\}\}/.test(e.message),
    );
    assert.throws(() => compileTemplate('{{secret}}', ['input']), /unknown template variable "\{\{secret\}\}": expected one of input/);
  });

  it('rejects broken placeholders', () => {
    assert.throws(() => compileTemplate('Hi {{user.name', TEMPLATE_VARIABLES), /unclosed "\{\{"/);
    assert.throws(() => compileTemplate('Hi {{ }}', TEMPLATE_VARIABLES), /bad placeholder "\{\{ \}\}"/);
    assert.throws(() => compileTemplate('{{user name}}', TEMPLATE_VARIABLES), /bad placeholder/);
  });

  it('renderTemplate compiles (once) and renders', () => {
    assert.equal(renderTemplate('{{chat.id}}/{{user.role}}', vars), 'c1/user');
    assert.throws(() => renderTemplate('{{nope}}', vars), TemplateError);
  });
});
