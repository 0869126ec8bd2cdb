import { run } from './cli/main.ts';

run(process.argv.slice(2)).then(
  (code) => {
    // Exits once stdout has taken everything written to it.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
