import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      'Invalid configuration — fix these environment variables and start again:\n' +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** A package's own settings: a class-validator class, with optional derived defaults and cross-variable rules. */
export interface ConfigSection<T extends object> {
  new (): T;
  /** May set derived defaults on `raw`; returns the problems it finds (e.g. "X is missing: …"). */
  prepare?(raw: Record<string, unknown>): string[];
}

type Merged<T extends object[]> = T extends [infer H, ...infer R extends object[]] ? H & Merged<R> : unknown;

/**
 * Reads the environment once into each owner's section and validates them all: a bad value stops the process
 * with one message that names every bad variable of every section, and what it expects.
 */
export function loadConfig<T extends object[]>(
  sections: { [K in keyof T]: ConfigSection<T[K]> },
  env: NodeJS.ProcessEnv = process.env,
): Merged<T> {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') raw[key] = value;
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...raw };
  for (const Section of sections as ConfigSection<object>[]) {
    const missing = Section.prepare?.(raw) ?? [];
    problems.push(...missing);
    const config = plainToInstance(Section, raw, { excludeExtraneousValues: false });
    for (const error of validateSync(config, { skipMissingProperties: false })) {
      // A missing variable is reported once, by its section's own words.
      if (raw[error.property] === undefined && missing.some((p) => p.startsWith(`${error.property} is missing`))) {
        continue;
      }
      problems.push(
        ...Object.values(error.constraints ?? {}).map((m) => `${m} (got ${JSON.stringify(raw[error.property])})`),
      );
    }
    // Only what the section made of the environment (numbers, booleans, defaults): another section's
    // untouched copy of a raw string must not undo it.
    for (const [key, value] of Object.entries(config)) if (value !== raw[key] || !(key in merged)) merged[key] = value;
  }
  if (problems.length) throw new ConfigError(problems);
  return merged as Merged<T>;
}
