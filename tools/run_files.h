// Housekeeping of a run folder when a run resumes after a crash or a stop.
#pragma once
#include <string>

namespace jetpinn {

// Keep only the lines of metrics.jsonl whose "step" is <= `step` (the checkpoint being resumed), so steps
// replayed after a crash are not logged twice; a torn last line (killed mid-write) is dropped too. The file is
// rewritten atomically; a missing file is left missing. Returns the number of lines dropped.
long truncate_metrics(const std::string& path, long step);
// Remove the *.tmp-PID-N files that AtomicFile left in `dir` when its process was killed before commit().
// Only for a folder no other process is writing (a run folder being resumed). Returns how many it removed.
int remove_stale_temporaries(const std::string& dir);

}  // namespace jetpinn
