/* signals.h - SIGINT / SIGTERM during training: the first asks the loop to finish its step, save and exit 0; a
 * second exits at once (every file xlat-train writes is replaced atomically, so nothing is left half-written). */
#ifndef XLAT_TRAIN_SIGNALS_H
#define XLAT_TRAIN_SIGNALS_H

int train_signals_install(void);
/* The number of the first signal received, 0 when none. */
int train_signal_pending(void);

#endif
