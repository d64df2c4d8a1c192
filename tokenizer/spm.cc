// spm.cc - the C interface to SentencePiece (see spm.h); the only C++ file in xlat.
//
// Every entry point catches all exceptions and turns util::Status failures into -1 plus a thread-local message,
// so nothing C++ crosses into the C code. Training reads its inputs through zlib, so .gz files work like plain ones.
#include "spm.h"

#include <zlib.h>

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

// Hashes the protobuf fields of [p, p+n) in order, skipping the field numbers in skip; descends into field `nested`
// (a message) with skip_nested. Returns false on malformed input.
bool hash_fields(uint64_t *h, const unsigned char *p, size_t n, std::initializer_list<uint64_t> skip, uint64_t nested,
                 std::initializer_list<uint64_t> skip_nested) {
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    uint64_t key, len = 0;
    if (!read_varint(p, n, &i, &key)) return false;
    uint64_t field = key >> 3, wire = key & 7;
    size_t body = i;
    if (wire == 0) {
      if (!read_varint(p, n, &i, &len)) return false;
    } else if (wire == 1 || wire == 5) {
      i += wire == 1 ? 8 : 4;
    } else if (wire == 2) {
      if (!read_varint(p, n, &i, &len) || len > n - i) return false;
      body = i;
      i += len;
    } else {
      return false;
    }
    if (i > n) return false;
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

// Feeds SentencePiece's trainer the lines of several plain or gzip files, in order.
class GzLines : public sentencepiece::SentenceIterator {
 public:
  explicit GzLines(const std::vector<std::string> &paths) : paths_(paths) { Next(); }
  ~GzLines() override {
    if (f_) gzclose(f_);
  }
  bool done() const override { return done_; }
  const std::string &value() const override { return line_; }
  sentencepiece::util::Status status() const override { return status_; }
  void Next() override {
    char buf[65536];
    for (;;) {
      if (!f_) {
        if (next_ >= paths_.size()) {
          done_ = true;
          return;
        }
        f_ = gzopen(paths_[next_].c_str(), "rb");
        if (!f_) {
          status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                                "cannot open " + paths_[next_]);
          done_ = true;
          return;
        }
        next_++;
      }
      line_.clear();
      bool got = false;
      while (gzgets(f_, buf, sizeof buf)) {
        got = true;
        line_ += buf;
        if (!line_.empty() && line_.back() == '\n') break;
      }
      if (got) {
        while (!line_.empty() && (line_.back() == '\n' || line_.back() == '\r')) line_.pop_back();
        return;
      }
      int err = Z_OK;
      const char *msg = gzerror(f_, &err);
      if (err != Z_OK && err != Z_STREAM_END) {
        // A truncated or corrupt .gz must not silently train on part of the data.
        status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kDataLoss,
                                              paths_[next_ - 1] + ": " + msg);
        done_ = true;
        return;
      }
      gzclose(f_);
      f_ = nullptr;
    }
  }

 private:
  std::vector<std::string> paths_;
  size_t next_ = 0;
  gzFile f_ = nullptr;
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
    for (const std::string &p : paths) {
      gzFile f = gzopen(p.c_str(), "rb");
      if (!f) return fail("%s: cannot open for reading", p.c_str());
      gzclose(f);
    }
    // A map rather than a command line, so paths with spaces work. Fixed special ids (spm.h), BPE, identity
    // normalization unless asked otherwise; SentencePiece's own sampling uses the seed.
    sentencepiece::SetRandomGeneratorSeed(o->seed);
    std::unordered_map<std::string, std::string> kw = {
        {"model_prefix", o->model_prefix},
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
    GzLines lines(paths);
    auto st = sentencepiece::SentencePieceTrainer::Train(kw, &lines);
    if (!st.ok()) return fail("spm train: %s", st.ToString().c_str());
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
    *out = s;
    return 0;
  });
}

void xlat_spm_free(xlat_spm *s) { delete s; }

uint64_t xlat_spm_checksum(const xlat_spm *s) { return s->checksum; }

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
    auto st = s->proc.Encode(absl::string_view(text, len), &v);
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
    auto st = s->proc.Encode(absl::string_view(text, len), &v);
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
    const int size = s->proc.GetPieceSize();
    for (size_t i = 0; i < n; i++)
      if (ids[i] < 0 || ids[i] >= size)
        return fail("spm decode: id %ld at position %zu is outside the vocabulary [0, %d)", (long)ids[i], i, size);
    std::vector<int> v(ids, ids + n);
    std::string t;
    auto st = s->proc.Decode(v, &t);
    if (!st.ok()) return fail("spm decode: %s", st.ToString().c_str());
    if (!(*text = dup_string(t))) return fail("spm decode: out of memory");
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
