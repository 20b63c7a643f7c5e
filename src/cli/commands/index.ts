import type { Command } from '../command.ts';
import { apply } from './apply.ts';
import { config } from './config.ts';
import { maxPods } from './max-pods.ts';
import { nodeFacts } from './node-facts.ts';
import { plan } from './plan.ts';
import { simulate } from './simulate.ts';
import { validate } from './validate.ts';

/** Every subcommand, in the order `vpc-cni --help` lists them. Each command lives in its own module. */
export const commands: readonly Command[] = [validate, config, maxPods, simulate, nodeFacts, plan, apply];
