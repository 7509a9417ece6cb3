import type { EnvReader } from '../env-reader';

export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string) => string;

/** What the merchants and callers files are read with: where their secrets come from. */
export interface Sources {
  readonly r: EnvReader;
  readonly env: Env;
  readonly readFile: ReadFile;
  readonly mode: 'development' | 'production';
  /** The variables the files name in *_env fields: read by the core, so not unknown. */
  readonly envNamesRead: Set<string>;
}
