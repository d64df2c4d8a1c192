/* dist.c - data-parallel training (and decoding: xlat_dist_send / recv carry finished output to rank 0) over MPI: every rank runs forward and backward on its share of a step's batches,
 * then the gradient block (one contiguous array) and the token counts are summed over the ranks here, between
 * xlat_trainer_accumulate and xlat_trainer_update, so every rank makes the same update. Without MPI in the build,
 * or when the program was not started by an MPI launcher, this is one rank of one and every call is a no-op. */
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#ifdef XLAT_WITH_MPI
#include <mpi.h>

static int started, rank, size = 1;

/* Launchers announce themselves in the environment (Open MPI, PMIx, MPICH / Slurm's PMI): only then is MPI started,
 * so a plain run never pays for it or depends on it. */
static int under_launcher(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

xlat_status xlat_dist_init(int *argc, char ***argv) {
  if (started || !under_launcher()) return XLAT_OK;
  int level = 0; /* worker and BLAS threads exist, but only the main thread calls MPI */
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &level) != MPI_SUCCESS)
    return xlat_fail(XLAT_ERR_IO, "MPI_Init_thread failed");
  if (level < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    return xlat_fail(XLAT_ERR_IO, "this MPI cannot run alongside threads (MPI_THREAD_FUNNELED)");
  }
  started = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return XLAT_OK;
}

void xlat_dist_finalize(void) {
  if (started) MPI_Finalize();
  started = 0;
}

void xlat_dist_abort(int status) {
  if (started && size > 1) MPI_Abort(MPI_COMM_WORLD, status);
}

int xlat_dist_rank(void) { return rank; }
int xlat_dist_size(void) { return size; }
int xlat_dist_built(void) { return 1; }

/* Waits for r by polling with short sleeps: Open MPI's blocking calls spin a core, which a rank waiting for rank 0
 * (its tokenizer training, validation or translation) would take from the threads doing the work. */
static int wait(MPI_Request *r) {
  for (;;) {
    int done = 0;
    if (MPI_Test(r, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return -1;
    if (done) return 0;
    nanosleep(&(struct timespec){0, 200000}, NULL);
  }
}

int xlat_dist_max(int v) {
  int out = v;
  MPI_Request r;
  if (size > 1 && (MPI_Iallreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r)))
    MPI_Abort(MPI_COMM_WORLD, 1); /* the ranks can no longer agree */
  return out;
}

int xlat_dist_bcast(int v) {
  MPI_Request r;
  if (size > 1 && (MPI_Ibcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r)))
    MPI_Abort(MPI_COMM_WORLD, 1);
  return v;
}

int xlat_dist_agree(uint64_t v) {
  uint64_t lo = v, hi = v;
  if (size > 1) {
    MPI_Allreduce(&v, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&v, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  }
  return lo == hi;
}

void xlat_dist_barrier(void) {
  MPI_Request r;
  if (size > 1 && (MPI_Ibarrier(MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r))) MPI_Abort(MPI_COMM_WORLD, 1);
}

enum { CHUNK = 1 << 30 }; /* MPI counts are ints: larger messages go in pieces */

/* Sends wait by polling too: a rank whose output rank 0 is not ready to take (it writes in input order) would
 * otherwise spin a core that rank 0's own translation needs. */
xlat_status xlat_dist_send(int to, const void *data, size_t n) {
  uint64_t len = n;
  MPI_Request r;
  if (MPI_Isend(&len, 1, MPI_UINT64_T, to, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r))
    return xlat_fail(XLAT_ERR_IO, "MPI_Send to rank %d failed", to);
  for (size_t at = 0; at < n; at += CHUNK) {
    int k = n - at > CHUNK ? CHUNK : (int)(n - at);
    if (MPI_Isend((const char *)data + at, k, MPI_BYTE, to, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r))
      return xlat_fail(XLAT_ERR_IO, "MPI_Send to rank %d failed", to);
  }
  return XLAT_OK;
}

xlat_status xlat_dist_recv(int from, char **data, size_t *n) {
  uint64_t len;
  MPI_Request r;
  *data = NULL;
  if (MPI_Irecv(&len, 1, MPI_UINT64_T, from, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r))
    return xlat_fail(XLAT_ERR_IO, "MPI_Recv from rank %d failed", from);
  char *p = malloc(len ? len : 1);
  if (!p) return xlat_fail(XLAT_ERR_NOMEM, "out of memory receiving %llu bytes from rank %d", (unsigned long long)len,
                           from);
  for (size_t at = 0; at < len; at += CHUNK) {
    int k = len - at > CHUNK ? CHUNK : (int)(len - at);
    if (MPI_Irecv(p + at, k, MPI_BYTE, from, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS || wait(&r)) {
      free(p);
      return xlat_fail(XLAT_ERR_IO, "MPI_Recv from rank %d failed", from);
    }
  }
  *data = p;
  *n = len;
  return XLAT_OK;
}

/* ---- gradients ------------------------------------------------------------------------------------------------
 * The block is summed in buckets of whole tensors, about BUCKET floats each, from the end of the block down: the
 * order in which backward passes finish them (the decoder's last layer first, the embeddings last). Every rank
 * issues the same buckets in the same order, whenever its backward reports them, so the collectives match; Open MPI
 * moves a non-blocking collective only while the caller is inside MPI (open-mpi/ompi #9759), so each report also
 * tests the buckets on their way. */
enum { BUCKET = 1 << 20 }; /* 4 MB: a few buckets per small model, tens for base */

static xlat_status plan_buckets(xlat_trainer *t) {
  if (t->bucket_start) return XLAT_OK;
  size_t *start = malloc((t->n_tensors + 1) * sizeof *start);
  MPI_Request *req = malloc((t->n_tensors + 1) * sizeof *req);
  if (!start || !req) {
    free(start), free(req);
    return xlat_fail(XLAT_ERR_NOMEM, "trainer: out of memory");
  }
  int n = 0;
  size_t end = t->n_params;
  for (size_t i = t->n_tensors; i-- > 0;) {
    size_t from = t->tensors[i].offset;
    if (end - from >= BUCKET || i == 0) start[n++] = from, end = from;
  }
  for (int k = 0; k < n; k++) req[k] = MPI_REQUEST_NULL;
  t->bucket_start = start, t->requests = req, t->n_buckets = n, t->issued = 0;
  return XLAT_OK;
}

/* Starts the buckets that lie wholly at or above offset from, in order. */
static xlat_status issue_buckets(xlat_trainer *t, size_t from) {
  MPI_Request *req = t->requests;
  for (; t->issued < t->n_buckets && t->bucket_start[t->issued] >= from; t->issued++) {
    int k = t->issued;
    size_t lo = t->bucket_start[k], hi = k ? t->bucket_start[k - 1] : t->n_params;
    if (hi - lo > CHUNK)
      return xlat_fail(XLAT_ERR_ARG, "trainer: a tensor of %zu floats, beyond MPI's counts", hi - lo);
    if (MPI_Iallreduce(MPI_IN_PLACE, t->grads + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req[k]) !=
        MPI_SUCCESS)
      return xlat_fail(XLAT_ERR_IO, "MPI_Iallreduce of the gradients failed");
  }
  int done;
  MPI_Testall(t->issued, req, &done, MPI_STATUSES_IGNORE);
  return XLAT_OK;
}

void xlat_trainer_reduce_next(xlat_trainer *t) { t->reduce_next = size > 1; }

void xlat_dist_grads_final(void *ctx, const float *from) {
  xlat_trainer *t = ctx;
  if (plan_buckets(t) != XLAT_OK || issue_buckets(t, (size_t)(from - t->grads)) != XLAT_OK)
    MPI_Abort(MPI_COMM_WORLD, 1); /* the ranks' collectives would no longer match */
}

xlat_status xlat_trainer_allreduce(xlat_trainer *t, double *sums, int n) {
  if (size == 1) return XLAT_OK;
  if (n > 16) return xlat_fail(XLAT_ERR_ARG, "xlat_trainer_allreduce: %d sums, at most 16", n);
  xlat_status st = plan_buckets(t);
  if (st == XLAT_OK) st = issue_buckets(t, 0); /* those backward did not start */
  if (st != XLAT_OK) return st;
  if (MPI_Waitall(t->n_buckets, t->requests, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
    return xlat_fail(XLAT_ERR_IO, "MPI_Iallreduce of the gradients failed");
  t->issued = 0;
  /* the counts ride with the sums */
  double small[17];
  for (int i = 0; i < n; i++) small[i] = sums[i];
  small[n] = (double)t->accum_tokens;
  if (MPI_Allreduce(MPI_IN_PLACE, small, n + 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
    return xlat_fail(XLAT_ERR_IO, "MPI_Allreduce of the token counts failed");
  for (int i = 0; i < n; i++) sums[i] = small[i];
  t->accum_tokens = (int64_t)small[n];
  return XLAT_OK;
}

#else

/* Started by a launcher with more than one process, each would train or translate alone into the same files. */
xlat_status xlat_dist_init(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *n = getenv("OMPI_COMM_WORLD_SIZE");
  if (!n) n = getenv("PMI_SIZE");
  if (n && atoi(n) > 1)
    return xlat_fail(XLAT_ERR_ARG, "started as one of %s MPI processes, but this build has no MPI (-DXLAT_MPI=OFF): "
                     "run it without mpirun, or build with MPI", n);
  return XLAT_OK;
}
void xlat_dist_finalize(void) {}
void xlat_dist_abort(int status) { (void)status; }
int xlat_dist_rank(void) { return 0; }
int xlat_dist_size(void) { return 1; }
int xlat_dist_built(void) { return 0; }
int xlat_dist_max(int v) { return v; }
int xlat_dist_bcast(int v) { return v; }
int xlat_dist_agree(uint64_t v) {
  (void)v;
  return 1;
}
void xlat_dist_barrier(void) {}
xlat_status xlat_dist_send(int to, const void *data, size_t n) {
  (void)data, (void)n;
  return xlat_fail(XLAT_ERR_ARG, "no rank %d: a build without MPI has one", to);
}
xlat_status xlat_dist_recv(int from, char **data, size_t *n) {
  *data = NULL, *n = 0;
  return xlat_fail(XLAT_ERR_ARG, "no rank %d: a build without MPI has one", from);
}
xlat_status xlat_trainer_allreduce(xlat_trainer *t, double *sums, int n) {
  (void)t, (void)sums, (void)n;
  return XLAT_OK;
}
void xlat_trainer_reduce_next(xlat_trainer *t) { (void)t; }
void xlat_dist_grads_final(void *ctx, const float *from) { (void)ctx, (void)from; }

#endif
