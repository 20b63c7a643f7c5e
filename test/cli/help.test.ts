import test from 'ava';
import { commands } from '../../src/cli/commands/index.ts';

// A flag renamed in one place (as --env-file became --environment-file) must not live on in a usage line.
test("every flag a command's usage lines name is one it accepts", async (t) => {
  for (const entry of commands) {
    const command = await entry.load();
    // Quoted commands (`vpc-cni plan --out FILE`) are another command's flags.
    const usage = command.help.split('\n\n')[0]!.replace(/`[^`]*`/g, '');
    t.true(usage.startsWith(`Usage: vpc-cni ${entry.name}`), entry.name);
    const accepted = Object.keys(command.options);
    for (const [, flag] of usage.matchAll(/--([a-z][a-z0-9-]*)/g))
      t.true(accepted.includes(flag!), `vpc-cni ${entry.name}: --${flag} is in the usage but not an option`);
  }
});
