/* metrics.h - BLEU, chrF and TER (sacreBLEU-exact); owned by the metrics work. */
#ifndef XLAT_METRICS_H
#define XLAT_METRICS_H
#endif
