/**
 * What pulls and pushes report as they go, for whoever shows it (src/cli/progress.ts
 * draws bars on a terminal and plain lines elsewhere). Library code calls these and
 * never prints. Blobs are keyed by digest.
 */
export interface ProgressSink {
  /** Something about the whole operation: "Pulling 127.0.0.1:5000/app:1". */
  note(text: string): void;
  /** A blob starts moving: `total` bytes are expected (`what`: layer, config). */
  start(digest: string, what: string, total: number): void;
  /** `bytes` more of it have moved. */
  advance(digest: string, bytes: number): void;
  /** A new state of the blob: "done", "exists", "unpacking", "unpacked", "mounted". */
  status(digest: string, text: string): void;
  /** The operation is over (successfully or not): finish the display. */
  end(): void;
}

/** Reports nothing: for --quiet and for library users who do not care. */
export const silentProgress: ProgressSink = {
  note() {}, start() {}, advance() {}, status() {}, end() {},
};
