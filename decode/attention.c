/* attention.c - attention maps: forced decoding of a translation with the first model (xlat_beam_attention) and the
 * library's heatmap writer (svg.h), labelled with SentencePiece pieces. */
#include "attention.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

xlat_status attention_draw(xlat_beam *b, const xlat_translator_options *tr, const int32_t *src,
                           int32_t src_len, const int32_t *tgt, int32_t tgt_len, const char *title, const char *path,
                           char **out, size_t *out_len) {
  int32_t S = src_len, T = tgt_len + 1;
  float *attn = malloc(sizeof(float) * (size_t)(S ? S : 1) * (size_t)T);
  const char **rows = malloc(sizeof *rows * (size_t)T), **cols = malloc(sizeof *cols * (size_t)(S ? S : 1));
  xlat_status st = XLAT_OK;
  if (!attn || !rows || !cols) {
    st = xlat_fail(XLAT_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int32_t t = 0; t < T; t++) {
    const char *p = t < tgt_len ? xlat_spm_id_to_piece(tr->tgt_spm, tgt[t]) : "</s>";
    rows[t] = p ? p : "?";
  }
  for (int32_t s = 0; s < S; s++) {
    const char *p = xlat_spm_id_to_piece(tr->src_spm, src[s]);
    cols[s] = p ? p : "?";
  }
  st = xlat_beam_attention(b, src, S, tgt, tgt_len, attn);
  if (st == XLAT_OK)
    st = path ? xlat_svg_heatmap(path, title, rows, T, cols, S, attn)
              : xlat_svg_heatmap_text(title, rows, T, cols, S, attn, out, out_len);
done:
  free(attn);
  free(rows);
  free(cols);
  return st;
}

int attention_svg(const doc_options *o, const doc_first *first, const char *input_name, const char *path) {
  if (!first->found) {
    fprintf(stderr, "xlat-decode: --attention-svg: no line with text among the first %d lines of %s; %s not written\n",
            o->window, input_name, path);
    return 1;
  }
  char title[256];
  snprintf(title, sizeof title, "Attention, line %lld of %s%s", (long long)first->line + 1, input_name,
           o->score_path ? " (scored target)" : "");
  xlat_beam *b = NULL;
  xlat_status st = xlat_beam_new(o->tr.models, 1, &o->tr.beam, &b);
  if (st == XLAT_OK)
    st = attention_draw(b, &o->tr, first->src, first->src_len, first->tgt, first->tgt_len, title, path, NULL, NULL);
  xlat_beam_free(b);
  if (st != XLAT_OK) fprintf(stderr, "xlat-decode: --attention-svg: %s\n", xlat_last_error());
  return st == XLAT_OK ? 0 : 1;
}

int attention_window(const doc_options *o, xlat_beam *b, const xlat_texts *w) {
  const char *dir = o->attention_dir, *input = o->input && strcmp(o->input, "-") ? o->input : "standard input";
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "xlat-decode: --attention-svg: cannot create directory %s: %s\n", dir, strerror(errno));
    return 1;
  }
  size_t dl = strlen(dir);
  const char *sep = dl > 0 && dir[dl - 1] == '/' ? "" : "/";
  for (int32_t i = 0; i < w->n_texts; i++) {
    const xlat_text_info *l = &w->texts[i];
    for (int32_t k = 0; k < l->count; k++) {
      const xlat_segment *s = &w->segs[l->first + k];
      const xlat_seg_result *r = &w->res[l->first + k];
      if (s->src_len == 0 || (!o->score_path && r->n == 0)) continue;
      char path[4096], title[512];
      long long line = (long long)l->number + 1;
      if (k == 0)
        snprintf(path, sizeof path, "%s%sline-%lld.svg", dir, sep, line);
      else
        snprintf(path, sizeof path, "%s%sline-%lld-%d.svg", dir, sep, line, k + 1);
      snprintf(title, sizeof title, "Attention, line %lld%s of %s%s", line, l->count > 1 ? " (a segment)" : "",
               input, o->score_path ? " (scored target)" : "");
      if (o->score_path ? attention_draw(b, &o->tr, s->src, s->src_len, s->tgt, s->tgt_len, title, path, NULL, NULL)
                        : attention_draw(b, &o->tr, s->src, s->src_len, r->hyps[0].ids, r->hyps[0].len, title,
                                         path, NULL, NULL)) {
        fprintf(stderr, "xlat-decode: --attention-svg: %s\n", xlat_last_error());
        return 1;
      }
    }
  }
  return 0;
}
