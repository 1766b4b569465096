// The command line. Each command's module is imported only when that command runs, so `--version`
// and `exec` never pay for the libraries `serve` needs.
import { Command, CommanderError, Option } from 'commander';
import { ROLES } from '../core/policy.ts';
import { releaseOptimizers } from '../optimizers.ts';
import { version } from '../version.ts';
import { reportFatal } from './exit.ts';

const program = new Command('clawdbot')
  .description('Self-hosted AI assistant: chat platforms to a local model, in one small executable')
  .version(version, '-V, --version')
  .option('-c, --config <file>', 'config file (default: $CLAWDBOT_CONFIG, ./clawdbot.yaml, ~/.config/clawdbot/config.yaml, /etc/clawdbot/config.yaml)')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  // `serve` starts and then idles: it releases V8's optimizing compilers at its first piece of work
  // (Executor.run). Every other command works from its first line on (src/optimizers.ts).
  .hook('preAction', (_program, command) => {
    if (command.name() !== 'serve') releaseOptimizers();
  });

const global = () => program.opts<{ config?: string }>();

/** Runs a command body; its number is the exit code; errors become a message and code 1 or 2. */
function run(body: () => Promise<number>): () => Promise<void> {
  return async () => {
    try {
      process.exitCode = await body();
    } catch (err) {
      reportFatal(err);
    }
  };
}

program.command('serve')
  .description('run the assistant: WebSocket/REST gateway and every enabled adapter')
  .action(run(async () => (await import('./serve.ts')).runServe(global())));

program.command('exec')
  .description('send one message through the pipeline and print the reply ("-" reads it from stdin)')
  .argument('<message...>', 'the message text')
  .option('--platform <id>', 'platform to play (routing sees this)', 'cli')
  .option('--user <id>', 'sender id (default: your login name)')
  .option('--chat <id>', 'chat id: the conversation whose history is used (default: the user, a direct chat of their own)')
  .option('--json', 'print a JSON result instead of streaming the text')
  .option('--attach <file>', 'send a file with the message (an image or a PDF/DOCX for media_processors)')
  .action((words: string[], opts) => run(async () => (await import('./exec.ts')).runExec(words, { ...global(), ...opts }))());

program.command('doctor')
  .description('check the config and everything it points at')
  .option('--json', 'machine-readable output')
  .option('--offline', 'skip network checks')
  .action((opts) => run(async () => (await import('./doctor.ts')).runDoctor({ ...global(), ...opts }))());

program.command('init')
  .description('write a documented clawdbot.yaml to start from')
  .argument('[file]', 'where to write it', 'clawdbot.yaml')
  .option('--force', 'overwrite an existing file')
  .action((file: string, opts) => run(async () => (await import('./init.ts')).runInit(file, opts))());

program.command('route')
  .description('inspect routing')
  .command('explain')
  .description('show which rule a message would match, and why')
  .argument('<text...>', 'the message text')
  .option('--platform <id>', 'platform of the message', 'cli')
  .option('--user <id>', 'sender (default: your login name)')
  .addOption(new Option('--role <role>', 'role of the sender (default: what security.roles gives platform:user)').choices(ROLES))
  .action((words: string[], opts) => run(async () => (await import('./route.ts')).runExplain(words.join(' '), { ...global(), ...opts }))());

program.command('workflow')
  .description('run workflows from the terminal')
  .command('run')
  .description('run one workflow and print each step as it ends, then the reply')
  .argument('<name>', 'the workflow (from workflows: in the config)')
  .option('--input <text>', 'what the workflow sees as {{input}}', '')
  .option('--platform <id>', 'platform to act as (roles are looked up as platform:user)', 'cli')
  .option('--user <id>', 'user to act as (default: your login name)')
  .option('--chat <id>', 'chat id (default: the user, a direct chat of their own)')
  .action((name: string, opts) => run(async () => (await import('./workflow.ts')).runWorkflowCommand(name, { ...global(), ...opts }))());

const keys = program.command('keys').description('manage API keys for the HTTP and WebSocket endpoints (stored hashed)');
keys.command('add')
  .description('make a key with a name and a role; it is printed once, on stdout')
  .argument('<name>', 'the key name (letters, digits, ".", "_", "-")')
  .requiredOption('--role <role>', 'Admin, Operator, Auditor or User')
  .action((name: string, opts) => run(async () => (await import('./keys.ts')).runKeys('add', [name], { ...global(), ...opts }))());
keys.command('list')
  .description('show the keys: name, role, created, last used, revoked (never a key)')
  .option('--json', 'print one JSON array')
  .action((opts) => run(async () => (await import('./keys.ts')).runKeys('list', [], { ...global(), ...opts }))());
keys.command('revoke')
  .description('refuse a key from the next request on')
  .argument('<name>', 'the key name')
  .action((name: string) => run(async () => (await import('./keys.ts')).runKeys('revoke', [name], global()))());
keys.command('rotate-data')
  .description('re-encrypt stored messages, history and audit text with a new data key (old key: from the config); stop serve first')
  .addOption(new Option('--new-key-env <var>', 'environment variable holding the new key (base64 or hex of 32 bytes)').conflicts('newKeyFile'))
  .addOption(new Option('--new-key-file <file>', 'file holding the new key').conflicts('newKeyEnv'))
  .action((opts) => run(async () => (await import('./rotate-data.ts')).runRotateData({ ...global(), ...opts }))());

const audit = program.command('audit').description('read and check the audit trail (tamper-evident, hash-chained)');
const runAuditCmd = (sub: 'tail' | 'search' | 'verify') => (opts: Record<string, unknown>) =>
  run(async () => (await import('./audit.ts')).runAudit(sub, { ...global(), ...opts }))();
audit.command('tail').description('print the newest audit records, oldest first')
  .option('-n, --limit <count>', 'how many (default 20)').option('--json', 'JSON lines, as in the audit file')
  .action(runAuditCmd('tail'));
audit.command('search').description('find audit records')
  .option('--user <id>', 'user id').option('--platform <id>', 'platform')
  .option('--event <type>', 'model_invocation, command_execution, policy_denial, approval_request, admin_action, config_reload, workflow_run, key_change, media_processing')
  .option('--since <when>', 'a duration back from now (1h, 7d) or an ISO date')
  .option('-n, --limit <count>', 'at most this many, the newest (default 100)').option('--json', 'JSON lines, as in the audit file')
  .action(runAuditCmd('search'));
audit.command('verify').description('check the hash chain in the database and the audit file; exit 1 naming the first broken record')
  .option('--file <file>', 'check this copy of the audit file (and its .1, .2, … parts) instead of audit.file')
  .action(runAuditCmd('verify'));

const memory = program.command('memory').description('context memory: search, forget, reindex, import');
const memoryCmd = (sub: 'search' | 'forget' | 'reindex' | 'import', args: string[], opts: Record<string, unknown>) =>
  run(async () => (await import('./memory.ts')).runMemory(sub, args, { ...global(), ...opts }, undefined, { extract: (await import('./extract-file.ts')).extractFile }))();
memory.command('search').description('what retrieval would return for a person, with scores')
  .argument('<query...>', 'the question').requiredOption('--user <id>', 'the person').option('--platform <p>', 'their platform', 'cli')
  .option('--chat <id>', 'the chat (memory.scope: chat)')
  .action((q: string[], opts) => memoryCmd('search', q, opts));
memory.command('forget').description("erase a person's memory and messages (says how many rows)")
  .requiredOption('--user <id>', 'the person').option('--platform <p>', 'only on this platform')
  .action((opts) => memoryCmd('forget', [], opts));
memory.command('reindex').description('embed every item with the configured embedding model (progress on stderr)')
  .action(() => memoryCmd('reindex', [], {}));
memory.command('import').description('import md, txt, pdf and docx files (folders recursive) into the shared knowledge scope')
  .argument('<paths...>', 'files or folders')
  .action((paths: string[]) => memoryCmd('import', paths, {}));

program.command('metrics')
  .description('Prometheus integration')
  .command('rules')
  .description('write metrics.rules (or the default alert set) as a Prometheus rule file')
  .option('--out <file>', 'write to this file instead of stdout')
  .action((opts) => run(async () => (await import('./metrics.ts')).runMetricsRules({ ...global(), ...opts }))());

// No top-level await: the bundle is CommonJS (see scripts/build.ts).
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Help and version exit 0; every other commander complaint is a usage error (2).
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    reportFatal(err);
  }
});
