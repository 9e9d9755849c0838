/**
 * Where the CLI writes and what environment it reads. Its own file, free of dependencies, so the
 * dispatcher (`bin/s3jobs.ts`) can hold it without loading any command's module graph.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
}

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
};
