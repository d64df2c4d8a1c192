/* signals.c - the SIGINT / SIGTERM handler of xlat-train (see signals.h). Only async-signal-safe calls in the
 * handler: a flag, write(2), unlink(2) and _exit(2). */
#include "signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

static volatile sig_atomic_t pending;

static void on_signal(int sig) {
  if (pending) {
    static const char msg[] = "\nxlat-train: second signal: exiting now (last.xlat is the last completed save)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    xlat_atomic_remove_temps(); /* a save in progress leaves no NAME.tmp */
    _exit(128 + sig);
  }
  pending = sig;
}

int train_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; /* file and BLAS calls in flight carry on; the loop polls the flag between steps */
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return -1;
  signal(SIGXFSZ, SIG_IGN); /* a file-size limit reaches the writer as EFBIG, reported with the file's name */
  return 0;
}

int train_signal_pending(void) { return pending; }
