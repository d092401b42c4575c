// SIGINT / SIGTERM during training: the handler only records the signal; the training loop polls
// stop_signal() after each step, writes a checkpoint, prints how to resume and exits with 128 + signal
// (130 for SIGINT, 143 for SIGTERM). The handler is one-shot (SA_RESETHAND): a second Ctrl-C kills at once.
#pragma once

namespace jetpinn {

void install_stop_handlers();
// The signal that asked the run to stop, 0 if none.
int stop_signal();
// "SIGINT", "SIGTERM" or "signal N".
const char* stop_signal_name(int sig);

}  // namespace jetpinn
