/* cli.h - command-line flag parsing shared by the xlat programs (not part of the model API in xlat.h). */
#ifndef XLAT_CLI_H
#define XLAT_CLI_H

#include <stdint.h>

/* Matches argv[*i] against name ("--max-tokens") as "--name" or "--name=value", with '-' and '_' interchangeable
 * after the leading "--" (SentencePiece's own tools spell flags with '_'). On a match *value points to the value
 * ("=value" or the next argument, advancing *i) and 1 is returned; -1 when the value is missing; 0 otherwise. */
int xlat_cli_flag(int argc, char **argv, int *i, const char *name, const char **value);

/* Parse a whole string as a number within [lo, hi]; 1 on success, 0 (and *out untouched) otherwise. */
int xlat_cli_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
int xlat_cli_i32(const char *s, int32_t lo, int32_t hi, int32_t *out);
int xlat_cli_double(const char *s, double lo, double hi, double *out);
int xlat_cli_float(const char *s, double lo, double hi, float *out);

#endif
