import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger; objects take a child (`log.child({ group })`). Level from the CLI, `silent` in tests. */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: undefined });
}

export const silentLogger: Logger = pino({ level: 'silent' });
