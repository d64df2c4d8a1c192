/* test_spm.c - the SentencePiece wrapper: special ids, lossless text -> ids -> text on the Multi30k val set (both
 * languages, ids and pieces), the same ids as Debian's spm_encode, checksums, deterministic training, errors.
 * Trains one model (vocabulary 1000) on Multi30k train for the whole file. */
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "test.h"

static xlat_spm *train(const char *prefix, const char *const *inputs, int n, int vocab) {
  xlat_spm_train_options o;
  xlat_spm_train_options_default(&o);
  o.inputs = inputs;
  o.n_inputs = n;
  o.model_prefix = test_tmp(prefix);
  o.vocab_size = vocab;
  int rc = xlat_spm_train(&o);
  if (rc != 0) fprintf(stderr, "train: %s\n", xlat_spm_last_error());
  CHECK(rc == 0);
  char path[600];
  snprintf(path, sizeof path, "%s.model", test_tmp(prefix));
  xlat_spm *s = NULL;
  CHECK(xlat_spm_load(path, &s) == 0);
  return s;
}

/* text -> ids -> text and text -> pieces -> text on every line of a Multi30k val file; writes the lines to
 * plain_out for spm_encode. */
static void check_lossless(const xlat_spm *s, const char *rel, const char *plain_out) {
  xlat_lines *r;
  CHECK(xlat_lines_open(test_path(rel), &r) == XLAT_OK);
  FILE *f = fopen(plain_out, "w");
  CHECK(f != NULL);
  if (!f) return;
  const char *line;
  size_t len;
  int64_t bad_ids = 0, bad_pieces = 0, unk = 0, bad_spans = 0;
  while (xlat_lines_next(r, &line, &len) == XLAT_OK && line) {
    fprintf(f, "%s\n", line);
    int32_t *ids;
    size_t n;
    char *text, *pieces;
    CHECK(xlat_spm_encode_ids(s, line, len, &ids, &n) == 0);
    for (size_t i = 0; i < n; i++) unk += ids[i] == XLAT_UNK;
    CHECK(xlat_spm_decode_ids(s, ids, n, &text) == 0);
    bad_ids += strcmp(text, line) != 0;
    /* spans: the same ids; consecutive, covering the line (a leading space belongs to the piece after it); decoding
     * gives the text and spans of the same pieces */
    int32_t *ids2, *spans, *dspans;
    size_t n2;
    char *text2;
    CHECK(xlat_spm_encode_spans(s, line, len, &ids2, &spans, &n2) == 0);
    CHECK(xlat_spm_decode_spans(s, ids2, n2, &text2, &dspans) == 0);
    int ok = n2 == n && memcmp(ids2, ids, sizeof *ids * n) == 0 && strcmp(text2, text) == 0;
    for (size_t i = 0; ok && i < n; i++) {
      ok &= spans[2 * i] <= spans[2 * i + 1] && (i == 0 ? spans[0] == 0 : spans[2 * i] == spans[2 * i - 1]);
      ok &= dspans[2 * i] <= dspans[2 * i + 1] && dspans[2 * i + 1] <= (int32_t)strlen(text2);
    }
    bad_spans += !(ok && (n == 0 || (size_t)spans[2 * n - 1] == len));
    free(ids2), free(spans), free(dspans), free(text2);
    free(text);
    free(ids);
    CHECK(xlat_spm_encode_pieces(s, line, len, &pieces) == 0);
    CHECK(xlat_spm_decode_pieces(s, pieces, strlen(pieces), &text) == 0);
    bad_pieces += strcmp(text, line) != 0;
    free(text);
    free(pieces);
  }
  CHECK(xlat_lines_number(r) == 1014);
  xlat_lines_close(r);
  fclose(f);
  if (bad_ids || bad_pieces || unk || bad_spans)
    fprintf(stderr, "%s: %lld lines differ through ids, %lld through pieces, %lld <unk>, %lld bad spans\n", rel,
            (long long)bad_ids, (long long)bad_pieces, (long long)unk, (long long)bad_spans);
  CHECK(bad_ids == 0 && bad_pieces == 0 && unk == 0 && bad_spans == 0);
}

/* Our ids equal spm_encode's on the same file (skipped when Debian's sentencepiece package is absent). */
static void check_spm_encode(const xlat_spm *s, const char *model, const char *plain) {
  const char *prog = "/usr/bin/spm_encode";
  if (access(prog, X_OK) != 0) {
    fprintf(stderr, "SKIP: %s not found (Debian package sentencepiece): ids not compared with it\n", prog);
    return;
  }
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s --model '%s' --output_format id < '%s'", prog, model, plain);
  FILE *p = popen(cmd, "r");
  xlat_lines *r;
  CHECK(p != NULL && xlat_lines_open(plain, &r) == XLAT_OK);
  if (!p) return;
  char *theirs = NULL;
  size_t cap = 0;
  const char *line;
  size_t len;
  int64_t lines = 0, differ = 0;
  while (xlat_lines_next(r, &line, &len) == XLAT_OK && line) {
    if (getline(&theirs, &cap, p) < 0) {
      differ++;
      break;
    }
    int32_t *ids;
    size_t n;
    CHECK(xlat_spm_encode_ids(s, line, len, &ids, &n) == 0);
    char ours[8192] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used + 16 < sizeof ours; i++)
      used += (size_t)snprintf(ours + used, sizeof ours - used, i ? " %d" : "%d", (int)ids[i]);
    free(ids);
    theirs[strcspn(theirs, "\n")] = '\0';
    differ += strcmp(ours, theirs) != 0;
    lines++;
  }
  CHECK(getline(&theirs, &cap, p) < 0); /* no extra lines */
  free(theirs);
  xlat_lines_close(r);
  CHECK(pclose(p) == 0);
  CHECK(lines == 1014 && differ == 0);
}

int main(void) {
  const char *train_files[] = {test_path("corpora/multi30k/train.en.gz"), test_path("corpora/multi30k/train.de.gz")};
  xlat_spm *s = train("m", train_files, 2, 1000);
  if (s) {
    CHECK(xlat_spm_vocab_size(s) == 1000);
    const char *special[] = {"<pad>", "<unk>", "<s>", "</s>"};
    for (int i = 0; i < 4; i++) {
      CHECK(strcmp(xlat_spm_id_to_piece(s, i), special[i]) == 0);
      CHECK(xlat_spm_piece_to_id(s, special[i]) == i);
    }
    CHECK(xlat_spm_id_to_piece(s, 1000) == NULL && xlat_spm_id_to_piece(s, -1) == NULL);
    CHECK(xlat_spm_piece_to_id(s, "no such piece") == XLAT_UNK);

    char model[600];
    snprintf(model, sizeof model, "%s.model", test_tmp("m"));
    check_lossless(s, "corpora/multi30k/val.en.gz", test_tmp("val.en"));
    check_lossless(s, "corpora/multi30k/val.de.gz", test_tmp("val.de"));
    check_spm_encode(s, model, test_tmp("val.en"));
    check_spm_encode(s, model, test_tmp("val.de"));

    /* Empty text: no ids, decodes to "". */
    int32_t *ids;
    size_t n;
    char *text;
    CHECK(xlat_spm_encode_ids(s, "", 0, &ids, &n) == 0 && n == 0);
    CHECK(xlat_spm_decode_ids(s, ids, 0, &text) == 0 && text[0] == '\0');
    free(ids);
    free(text);
    /* A text longer than the encoder's chunk is encoded in chunks cut at spaces: the ids equal those of its parts
     * (a piece never spans a space), here one sentence repeated to 600 KB, and the pieces decode to the text. */
    const char sent[] = "Zwei junge, weiße Männer sind im Freien in der Nähe vieler Büsche, und ein Hund läuft.";
    int32_t *one, *all;
    size_t n1, nall, k = 600000 / sizeof sent + 1, tl = k * sizeof sent;
    char *big = malloc(tl);
    CHECK(big != NULL);
    for (size_t i = 0; big && i < k; i++) {
      memcpy(big + i * sizeof sent, sent, sizeof sent - 1);
      big[i * sizeof sent + sizeof sent - 1] = ' '; /* over the NUL; the last one ends the text */
    }
    if (big && xlat_spm_encode_ids(s, sent, strlen(sent), &one, &n1) == 0) {
      CHECK(xlat_spm_encode_ids(s, big, tl - 1, &all, &nall) == 0 && nall == k * n1);
      size_t differ = 0;
      for (size_t i = 0; nall == k * n1 && i < nall; i++) differ += all[i] != one[i % n1];
      CHECK(differ == 0);
      CHECK(xlat_spm_decode_ids(s, all, nall, &text) == 0 && strlen(text) == tl - 1 &&
            memcmp(text, big, tl - 1) == 0);
      free(text);
      free(one);
      free(all);
    }
    free(big);
    /* Out-of-range ids are an error, not a crash. */
    int32_t bad[] = {5, 99999};
    CHECK(xlat_spm_decode_ids(s, bad, 2, &text) != 0 && text == NULL);

    /* The checksum depends on the model only: equal on reload, different for another model. */
    xlat_spm *again;
    CHECK(xlat_spm_load(model, &again) == 0);
    CHECK(again && xlat_spm_checksum(again) == xlat_spm_checksum(s));
    xlat_spm_free(again);
  }

  /* Training is deterministic: same data and options, same model. */
  const char *val_files[] = {test_path("corpora/multi30k/val.en.gz"), test_path("corpora/multi30k/val.de.gz")};
  xlat_spm *a = train("d1", val_files, 2, 300), *b = train("d2", val_files, 2, 300);
  CHECK(a && b && xlat_spm_checksum(a) == xlat_spm_checksum(b));
  CHECK(a && s && xlat_spm_checksum(a) != xlat_spm_checksum(s));
  /* A pair's checksum: the model's own when joint; otherwise neither side's, and not the swapped pair's. */
  if (a && b && s) {
    CHECK(xlat_spm_pair_checksum(a, a) == xlat_spm_checksum(a) && xlat_spm_pair_checksum(a, b) == xlat_spm_checksum(a));
    uint64_t as = xlat_spm_pair_checksum(a, s), sa = xlat_spm_pair_checksum(s, a);
    CHECK(as != sa && as != xlat_spm_checksum(a) && as != xlat_spm_checksum(s) && sa != xlat_spm_checksum(a));
  }
  xlat_spm_free(a);
  xlat_spm_free(b);
  xlat_spm_free(s);

  /* Errors come back as -1 and a message, never as an exception or an exit. */
  xlat_spm *none = NULL;
  CHECK(xlat_spm_load(test_tmp("missing.model"), &none) != 0 && none == NULL);
  CHECK(strstr(xlat_spm_last_error(), "missing.model") != NULL);
  FILE *f = fopen(test_tmp("garbage.model"), "w");
  if (f) {
    fputs("this is not a model\n", f);
    fclose(f);
  }
  CHECK(xlat_spm_load(test_tmp("garbage.model"), &none) != 0 && none == NULL);
  const char *missing[] = {test_tmp("nothere.txt")};
  xlat_spm_train_options o;
  xlat_spm_train_options_default(&o);
  o.inputs = missing;
  o.n_inputs = 1;
  o.model_prefix = test_tmp("never");
  CHECK(xlat_spm_train(&o) != 0 && strstr(xlat_spm_last_error(), "nothere.txt") != NULL);
  o.inputs = val_files;
  o.vocab_size = 2;
  CHECK(xlat_spm_train(&o) != 0 && strstr(xlat_spm_last_error(), "vocabulary") != NULL);
  o.vocab_size = 100000; /* more pieces than the text can give */
  CHECK(xlat_spm_train(&o) != 0);
  xlat_spm_free(NULL);

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_tmp(NULL));
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_tmp(NULL));
  TEST_END();
}
