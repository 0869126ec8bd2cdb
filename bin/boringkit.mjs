#!/usr/bin/env node
// Starts the boringkit command: registers tsx so Node loads the TypeScript
// sources, then runs bin/boringkit.ts.
import { register } from 'tsx/esm/api';

register();
await import('./boringkit.ts');
