// spm.cc - the C interface to SentencePiece (see spm.h); the only C++ file in xlat.
//
// Every entry point catches all exceptions and turns util::Status failures into -1 plus a thread-local message,
// so nothing C++ crosses into the C code. Training reads its inputs through io.h's line reader (plain or .gz).
#include "spm.h"

#include "io.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

struct xlat_spm {
  sentencepiece::SentencePieceProcessor proc;
  uint64_t checksum;
  bool dummy_prefix;        // NormalizerSpec.add_dummy_prefix: what lets a long text be encoded in chunks
  size_t max_piece_bytes;   // bytes one piece covers at most, 0 when normalization can shrink text
};

namespace {

thread_local char last_error[1024];

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return -1;
}

// Runs body with every C++ exception turned into -1 and a message that starts with what: none crosses into C.
template <typename F>
int guarded(const char *what, F body) {
  try {
    return body();
  } catch (const std::exception &e) {
    return fail("%s: %s", what, e.what());
  } catch (...) {
    return fail("%s: unknown C++ exception", what);
  }
}

// FNV-1a: cheap, stable across runs and machines.
void fnv1a(uint64_t *h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) *h = (*h ^ p[i]) * 1099511628211ULL;
}

bool read_varint(const unsigned char *p, size_t n, size_t *i, uint64_t *v) {
  *v = 0;
  for (int shift = 0; *i < n && shift < 64; shift += 7) {
    unsigned char c = p[(*i)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (c < 0x80) return true;
  }
  return false;
}

// The protobuf field at p[*i] of a message of n bytes: its number and wire type, the value of a varint field or the
// length of a length-delimited one (whose bytes start at *body), *i moved past it. False when malformed.
bool next_field(const unsigned char *p, size_t n, size_t *i, uint64_t *field, uint64_t *wire, uint64_t *value,
                size_t *body) {
  uint64_t key;
  *value = 0;
  if (!read_varint(p, n, i, &key)) return false;
  *field = key >> 3, *wire = key & 7;
  *body = *i;
  if (*wire == 0) {
    if (!read_varint(p, n, i, value)) return false;
  } else if (*wire == 1 || *wire == 5) {
    *i += *wire == 1 ? 8 : 4;
  } else if (*wire == 2) {
    if (!read_varint(p, n, i, value) || *value > n - *i) return false;
    *body = *i;
    *i += *value;
  } else {
    return false;
  }
  return *i <= n;
}

// Hashes the protobuf fields of [p, p+n) in order, skipping the field numbers in skip; descends into field `nested`
// (a message) with skip_nested. Returns false on malformed input.
bool hash_fields(uint64_t *h, const unsigned char *p, size_t n, std::initializer_list<uint64_t> skip, uint64_t nested,
                 std::initializer_list<uint64_t> skip_nested) {
  size_t i = 0;
  while (i < n) {
    size_t start = i, body;
    uint64_t field, wire, len;
    if (!next_field(p, n, &i, &field, &wire, &len, &body)) return false;
    bool skipped = false;
    for (uint64_t f : skip) skipped |= f == field;
    if (skipped) continue;
    if (field == nested && wire == 2) {
      fnv1a(h, p + start, body - start);
      if (!hash_fields(h, p + body, len, skip_nested, 0, {})) return false;
    } else {
      fnv1a(h, p + start, i - start);
    }
  }
  return true;
}

// One field of a serialized protobuf message [p, p+n): the value of a varint field, or the bytes of a length-delimited
// one. False when absent or malformed (the caller uses the field's default).
bool find_field(const unsigned char *p, size_t n, uint64_t want, uint64_t *value, const unsigned char **bytes) {
  size_t i = 0, body;
  uint64_t field, wire, v;
  while (i < n) {
    if (!next_field(p, n, &i, &field, &wire, &v, &body)) return false;
    if (field != want) continue;
    *value = v;
    if (wire == 2) *bytes = p + body;
    return true;
  }
  return false;
}

// Reads what chunked encoding and the corpus's early length check need from the ModelProto: NormalizerSpec (field
// 3) name (1), add_dummy_prefix (3, default true), remove_extra_whitespaces (4, default true); TrainerSpec (2)
// max_sentencepiece_length (20, default 16).
void read_spec(xlat_spm *s, const std::string &proto) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(proto.data()), *norm = nullptr, *train = nullptr;
  uint64_t norm_n = 0, train_n = 0, v;
  const unsigned char *b = nullptr;
  find_field(p, proto.size(), 3, &norm_n, &norm);
  find_field(p, proto.size(), 2, &train_n, &train);
  s->dummy_prefix = !(norm && find_field(norm, norm_n, 3, &v, &b) && v == 0);
  bool squeeze = !(norm && find_field(norm, norm_n, 4, &v, &b) && v == 0);
  uint64_t name_n = 0;
  const unsigned char *name = nullptr;
  bool identity = norm && find_field(norm, norm_n, 1, &name_n, &name) && name_n == 8 && !memcmp(name, "identity", 8);
  uint64_t longest = 16;
  if (train && find_field(train, train_n, 20, &v, &b)) longest = v;
  // only identity normalization without squeezing spaces keeps every byte: then a piece spans <= longest chars
  s->max_piece_bytes = identity && !squeeze ? 4 * longest : 0;
}

// The model's identity for checkpoints: every byte of the serialized ModelProto (pieces, scores, normalizer, model
// type, special ids) except the TrainerSpec fields that never change how text is encoded: input (1), model_prefix
// (2) and num_threads (16). So one model trained twice into different paths has one checksum.
uint64_t model_checksum(const std::string &proto) {
  uint64_t h = 1469598103934665603ULL;
  const unsigned char *p = reinterpret_cast<const unsigned char *>(proto.data());
  if (!hash_fields(&h, p, proto.size(), {}, 2, {1, 2, 16})) {
    h = 1469598103934665603ULL;
    fnv1a(&h, p, proto.size());
  }
  return h;
}

// Feeds SentencePiece's trainer the lines of several plain or gzip files, in order, through io.h's line reader (a
// truncated .gz is an error, not less data). Empty lines teach nothing and are left out, so an input without text
// is known before training starts (SentencePiece itself would stop at an assertion).
class FileLines : public sentencepiece::SentenceIterator {
 public:
  explicit FileLines(const std::vector<std::string> &paths) : paths_(paths) { Next(); }
  ~FileLines() override { xlat_lines_close(in_); }
  bool done() const override { return done_; }
  const std::string &value() const override { return line_; }
  sentencepiece::util::Status status() const override { return status_; }
  void Next() override {
    for (;;) {
      if (!in_) {
        if (next_ >= paths_.size()) {
          done_ = true;
          return;
        }
        if (xlat_lines_open(paths_[next_++].c_str(), &in_) != XLAT_OK) return stop();
      }
      const char *line;
      size_t len;
      if (xlat_lines_next(in_, &line, &len) != XLAT_OK) return stop();
      if (line && len == 0) continue;
      if (line) {
        line_.assign(line, len);
        return;
      }
      xlat_lines_close(in_);
      in_ = nullptr;
    }
  }

 private:
  void stop() {
    status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kDataLoss, xlat_last_error());
    done_ = true;
  }
  std::vector<std::string> paths_;
  size_t next_ = 0;
  xlat_lines *in_ = nullptr;
  std::string line_;
  bool done_ = false;
  sentencepiece::util::Status status_;
};

char *dup_string(const std::string &s) {
  char *p = static_cast<char *>(malloc(s.size() + 1));
  if (!p) return nullptr;
  memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

// ids as SentencePiece takes them, each checked against the vocabulary (0, or -1 after fail()).
int ids_in_vocab(const xlat_spm *s, const int32_t *ids, size_t n, std::vector<int> *v) {
  const int size = s->proc.GetPieceSize();
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= size)
      return fail("spm decode: id %ld at position %zu is outside the vocabulary [0, %d)", (long)ids[i], i, size);
  v->assign(ids, ids + n);
  return 0;
}

// The byte spans of a SentencePieceText's pieces, malloc'ed as begin, end pairs; nullptr when out of memory.
int32_t *spans_of(const sentencepiece::ImmutableSentencePieceText &spt) {
  size_t n = spt.pieces_size();
  int32_t *sp = static_cast<int32_t *>(malloc(sizeof(int32_t) * 2 * (n ? n : 1)));
  if (!sp) return nullptr;
  for (size_t i = 0; i < n; i++) {
    auto p = spt.pieces(static_cast<int>(i));
    sp[2 * i] = static_cast<int32_t>(p.begin());
    sp[2 * i + 1] = static_cast<int32_t>(p.end());
  }
  return sp;
}

// SentencePiece's encoder needs about 200 bytes of memory per byte of text (a 10 MB line: 2 GB), so a long text is
// encoded in chunks of at most kChunk bytes, each cut at a space that is then left out: no piece spans a space and
// the next chunk's dummy prefix "▁" stands for it, so the pieces are those of the whole text (a model without the
// dummy prefix is encoded whole). A chunk without a space is cut at a character boundary (only the pieces at that
// cut can differ).
constexpr size_t kChunk = 1 << 16;

template <typename Piece>
sentencepiece::util::Status encode_chunked(const xlat_spm *s, const char *text, size_t len, std::vector<Piece> *out) {
  out->clear();
  if (!s->dummy_prefix) return s->proc.Encode(absl::string_view(text, len), out); // no prefix to stand for a space
  std::vector<Piece> part;
  size_t start = 0;
  do {
    size_t end = len, next = len;
    if (len - start > kChunk) {
      end = start + kChunk;
      while (end > start && text[end] != ' ') end--;
      if (end > start) {
        next = end + 1;
      } else { // no space: at a character's first byte, looking back at most 3 bytes (invalid UTF-8 cuts anywhere)
        end = start + kChunk;
        for (int k = 0; k < 3 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; k++) end--;
        next = end;
      }
    }
    auto st = s->proc.Encode(absl::string_view(text + start, end - start), &part);
    if (!st.ok()) return st;
    out->insert(out->end(), part.begin(), part.end());
    start = next;
  } while (start < len);
  return sentencepiece::util::Status();
}

}  // namespace

extern "C" {

const char *xlat_spm_last_error(void) { return last_error; }

void xlat_spm_train_options_default(xlat_spm_train_options *o) {
  memset(o, 0, sizeof *o);
  o->vocab_size = 8000;
  o->character_coverage = 1.0f;
  o->seed = 1;
  o->num_threads = 2;
  o->normalization = "identity";
}

int xlat_spm_train(const xlat_spm_train_options *o) {
  return guarded("spm train", [&]() -> int {
    if (!o->model_prefix || !o->inputs || o->n_inputs < 1)
      return fail("spm train: need at least one input file and a model prefix");
    if (o->vocab_size < 5) return fail("spm train: vocabulary size %d, expected at least 5", (int)o->vocab_size);
    if (!(o->character_coverage > 0.0f && o->character_coverage <= 1.0f))
      return fail("spm train: character coverage %g, expected a value in (0, 1]", (double)o->character_coverage);
    std::vector<std::string> paths(o->inputs, o->inputs + o->n_inputs);
    // A map rather than a command line, so paths with spaces work. Fixed special ids (spm.h), BPE, identity
    // normalization unless asked otherwise; SentencePiece's own sampling uses the seed.
    sentencepiece::SetRandomGeneratorSeed(o->seed);
    std::unordered_map<std::string, std::string> kw = {
        {"model_type", "bpe"},
        {"vocab_size", std::to_string(o->vocab_size)},
        {"character_coverage", std::to_string(o->character_coverage)},
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "2"},
        {"eos_id", "3"},
        {"pad_piece", "<pad>"},
        {"unk_piece", "<unk>"},
        {"bos_piece", "<s>"},
        {"eos_piece", "</s>"},
        {"normalization_rule_name", o->normalization ? o->normalization : "identity"},
        {"remove_extra_whitespaces", o->remove_extra_whitespaces ? "true" : "false"},
        {"num_threads", std::to_string(o->num_threads > 0 ? o->num_threads : 1)},
        {"minloglevel", "2"},
    };
    if (o->input_sentence_size > 0) {
      kw["input_sentence_size"] = std::to_string(o->input_sentence_size);
      kw["shuffle_input_sentence"] = "true";
    }
    FileLines lines(paths);
    if (!lines.status().ok()) return fail("spm train: %s", lines.status().message());
    if (lines.done()) return fail("spm train: the input files hold no text to learn pieces from");
    // Trained into memory and written by xlat's atomic writer: a full disk or a file-size limit leaves no partial
    // PREFIX.model or PREFIX.vocab and is reported (SentencePiece's own writer does not check its writes).
    std::string proto;
    auto st = sentencepiece::SentencePieceTrainer::Train(kw, &lines, &proto);
    if (!lines.status().ok()) return fail("spm train: %s", lines.status().message());
    if (!st.ok()) return fail("spm train: %s", st.ToString().c_str());
    sentencepiece::SentencePieceProcessor proc;
    auto loaded = proc.LoadFromSerializedProto(proto);
    if (!loaded.ok()) return fail("spm train: the trained model does not load: %s", loaded.ToString().c_str());
    std::string vocab;  // SentencePiece's .vocab: piece TAB score, one line per id
    char score[32];
    for (int id = 0; id < proc.GetPieceSize(); id++) {
      snprintf(score, sizeof score, "\t%g\n", (double)proc.GetScore(id));
      vocab += proc.IdToPiece(id);
      vocab += score;
    }
    std::string prefix = o->model_prefix;
    if (xlat_atomic_write_file((prefix + ".vocab").c_str(), vocab.data(), vocab.size()) != XLAT_OK ||
        xlat_atomic_write_file((prefix + ".model").c_str(), proto.data(), proto.size()) != XLAT_OK)
      return fail("spm train: %s", xlat_last_error());
    return 0;
  });
}

int xlat_spm_load(const char *path, xlat_spm **out) {
  *out = nullptr;
  return guarded(path, [&]() -> int {
    xlat_spm *s = new xlat_spm();
    auto st = s->proc.Load(path);
    if (!st.ok()) {
      delete s;
      return fail("%s: not a SentencePiece model (%s)", path, st.ToString().c_str());
    }
    s->checksum = model_checksum(s->proc.serialized_model_proto());
    read_spec(s, s->proc.serialized_model_proto());
    *out = s;
    return 0;
  });
}

void xlat_spm_free(xlat_spm *s) { delete s; }

size_t xlat_spm_max_piece_bytes(const xlat_spm *s) { return s->max_piece_bytes; }

int xlat_spm_check_ids(const xlat_spm *s, const char *path) {
  const sentencepiece::SentencePieceProcessor &p = s->proc;
  if (p.pad_id() == 0 && p.unk_id() == 1 && p.bos_id() == 2 && p.eos_id() == 3) return 0;
  return fail("%s: special ids pad %d, unk %d, bos %d, eos %d; xlat needs pad 0, unk 1, bos 2, eos 3 (train the "
              "model with xlat-spm, or with spm_train --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3)",
              path, p.pad_id(), p.unk_id(), p.bos_id(), p.eos_id());
}

uint64_t xlat_spm_checksum(const xlat_spm *s) { return s->checksum; }

uint64_t xlat_spm_pair_checksum(const xlat_spm *src, const xlat_spm *tgt) {
  if (src == tgt || src->checksum == tgt->checksum) return tgt->checksum;
  uint64_t x = src->checksum * 0x9e3779b97f4a7c15ULL ^ (tgt->checksum + 0x632be59bd9b4e019ULL);
  x ^= x >> 31; // the avalanche of splitmix64's last steps: order matters, and no input passes through
  x *= 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 29);
}

int32_t xlat_spm_vocab_size(const xlat_spm *s) { return s->proc.GetPieceSize(); }

const char *xlat_spm_id_to_piece(const xlat_spm *s, int32_t id) {
  if (id < 0 || id >= s->proc.GetPieceSize()) return nullptr;
  // IdToPiece returns a reference into the loaded model, so the pointer lives as long as s.
  return s->proc.IdToPiece(id).c_str();
}

int32_t xlat_spm_piece_to_id(const xlat_spm *s, const char *piece) {
  try {
    return s->proc.PieceToId(piece);
  } catch (...) {
    return s->proc.unk_id();
  }
}

int xlat_spm_encode_ids(const xlat_spm *s, const char *text, size_t len, int32_t **ids, size_t *n) {
  *ids = nullptr;
  *n = 0;
  return guarded("spm encode", [&]() -> int {
    std::vector<int> v;
    auto st = encode_chunked(s, text, len, &v);
    if (!st.ok()) return fail("spm encode: %s", st.ToString().c_str());
    int32_t *p = static_cast<int32_t *>(malloc((v.size() ? v.size() : 1) * sizeof *p));
    if (!p) return fail("spm encode: out of memory");
    for (size_t i = 0; i < v.size(); i++) p[i] = v[i];
    *ids = p;
    *n = v.size();
    return 0;
  });
}

int xlat_spm_encode_pieces(const xlat_spm *s, const char *text, size_t len, char **out) {
  *out = nullptr;
  return guarded("spm encode", [&]() -> int {
    std::vector<std::string> v;
    auto st = encode_chunked(s, text, len, &v);
    if (!st.ok()) return fail("spm encode: %s", st.ToString().c_str());
    std::string joined;
    for (size_t i = 0; i < v.size(); i++) {
      if (i) joined += ' ';
      joined += v[i];
    }
    if (!(*out = dup_string(joined))) return fail("spm encode: out of memory");
    return 0;
  });
}

int xlat_spm_decode_ids(const xlat_spm *s, const int32_t *ids, size_t n, char **text) {
  *text = nullptr;
  return guarded("spm decode", [&]() -> int {
    std::vector<int> v;
    if (ids_in_vocab(s, ids, n, &v) != 0) return -1;
    std::string t;
    auto st = s->proc.Decode(v, &t);
    if (!st.ok()) return fail("spm decode: %s", st.ToString().c_str());
    if (!(*text = dup_string(t))) return fail("spm decode: out of memory");
    return 0;
  });
}

int xlat_spm_encode_spans(const xlat_spm *s, const char *text, size_t len, int32_t **ids, int32_t **spans, size_t *n) {
  *ids = nullptr;
  *spans = nullptr;
  *n = 0;
  return guarded("spm encode", [&]() -> int {
    if (len > INT32_MAX) return fail("spm encode: %zu bytes, more than spans can address", len);
    sentencepiece::ImmutableSentencePieceText spt;
    auto st = s->proc.Encode(absl::string_view(text, len), spt.mutable_proto());
    if (!st.ok()) return fail("spm encode: %s", st.ToString().c_str());
    size_t count = spt.pieces_size();
    *ids = static_cast<int32_t *>(malloc(sizeof(int32_t) * (count ? count : 1)));
    *spans = spans_of(spt);
    if (!*ids || !*spans) {
      free(*ids), free(*spans);
      *ids = *spans = nullptr;
      return fail("spm encode: out of memory");
    }
    for (size_t i = 0; i < count; i++) (*ids)[i] = static_cast<int32_t>(spt.pieces(static_cast<int>(i)).id());
    *n = count;
    return 0;
  });
}

int xlat_spm_decode_spans(const xlat_spm *s, const int32_t *ids, size_t n, char **text, int32_t **spans) {
  *text = nullptr;
  *spans = nullptr;
  return guarded("spm decode", [&]() -> int {
    std::vector<int> v;
    if (ids_in_vocab(s, ids, n, &v) != 0) return -1;
    sentencepiece::ImmutableSentencePieceText spt;
    auto st = s->proc.Decode(v, spt.mutable_proto());
    if (!st.ok()) return fail("spm decode: %s", st.ToString().c_str());
    if (spt.pieces_size() != n) return fail("spm decode: %zu pieces for %zu ids", spt.pieces_size(), n);
    *text = dup_string(spt.text());
    *spans = spans_of(spt);
    if (!*text || !*spans) {
      free(*text), free(*spans);
      *text = nullptr, *spans = nullptr;
      return fail("spm decode: out of memory");
    }
    return 0;
  });
}

int xlat_spm_decode_pieces(const xlat_spm *s, const char *pieces, size_t len, char **text) {
  *text = nullptr;
  return guarded("spm decode", [&]() -> int {
    std::vector<std::string> v;
    size_t i = 0;
    while (i < len) {
      while (i < len && pieces[i] == ' ') i++;
      size_t j = i;
      while (j < len && pieces[j] != ' ') j++;
      if (j > i) v.emplace_back(pieces + i, j - i);
      i = j;
    }
    std::string t;
    auto st = s->proc.Decode(v, &t);
    if (!st.ok()) return fail("spm decode: %s", st.ToString().c_str());
    if (!(*text = dup_string(t))) return fail("spm decode: out of memory");
    return 0;
  });
}

}  // extern "C"
