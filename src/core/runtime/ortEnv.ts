// Imported before onnxruntime-node, whose native library reads its environment when it loads.
// onnxruntime 1.30 starts a telemetry session on Linux too: every process wrote `$TMPDIR/.ses` and
// an empty `$TMPDIR/mat-debug-<pid>.log`, a file left behind by each run. A user who wants it can
// still set ORT_DISABLE_TELEMETRY=0.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
export {};
