/* test_io.c - libxlatio (io.h): error messages that wrap an inner one, NUL and UTF-8 decoding, and the atomic
 * writer's edges (a directory refused up front, a pipe written in place, temporaries removed for a signal). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "test.h"

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void test_fail_wraps(void) {
  xlat_fail(XLAT_ERR_FORMAT, "el 32: expected at most 16 layers");
  CHECK(xlat_fail(XLAT_ERR_FORMAT, "bad.xlat: the checkpoint's config is invalid: %s", xlat_last_error()) ==
        XLAT_ERR_FORMAT);
  CHECK(strcmp(xlat_last_error(), "bad.xlat: the checkpoint's config is invalid: el 32: expected at most 16 layers") ==
        0);
}

static void test_text(void) {
  CHECK(xlat_nul_at("ab\0c", 4) == 2 && xlat_nul_at("abc", 3) == 3 && xlat_nul_at("", 0) == 0);
  uint32_t cp = 0;
  CHECK(xlat_utf8_decode("A", 1, &cp) == 1 && cp == 'A');
  CHECK(xlat_utf8_decode("\xc3\xa9", 2, &cp) == 2 && cp == 0xE9);
  CHECK(xlat_utf8_decode("\xe2\x82\xac", 3, &cp) == 3 && cp == 0x20AC);
  CHECK(xlat_utf8_decode("\xf0\x9d\x84\x9e", 4, &cp) == 4 && cp == 0x1D11E);
  CHECK(xlat_utf8_decode("\xc0\x80", 2, &cp) == 0);         /* overlong NUL */
  CHECK(xlat_utf8_decode("\xed\xa0\x80", 3, &cp) == 0);     /* UTF-16 surrogate */
  CHECK(xlat_utf8_decode("\xf4\x90\x80\x80", 4, &cp) == 0); /* above U+10FFFF */
  CHECK(xlat_utf8_decode("\xe2\x82", 2, &cp) == 0);         /* cut short */
  CHECK(xlat_utf8_decode("", 0, &cp) == 0);
  CHECK(xlat_utf8_invalid_at("ok \xc3\xa9 \xff", 7) == 6 && xlat_utf8_valid("\xc3\xa9", 2));
}

static void test_atomic(void) {
  /* a directory is refused at open, before anything is written */
  xlat_atomic_file af;
  CHECK(xlat_atomic_open(&af, test_tmp(NULL)) == XLAT_ERR_IO && strstr(xlat_last_error(), "is a directory"));
  /* a whole file appears at commit, never before */
  CHECK(xlat_atomic_open(&af, test_tmp("a.txt")) == XLAT_OK && exists(test_tmp("a.txt.tmp")) && !exists(test_tmp("a.txt")));
  fputs("hello\n", af.f);
  CHECK(xlat_atomic_commit(&af) == XLAT_OK && exists(test_tmp("a.txt")) && !exists(test_tmp("a.txt.tmp")));
  /* what a signal handler calls: every open temporary goes, the old file stays; abort afterwards is harmless */
  xlat_atomic_file b, c;
  CHECK(xlat_atomic_open(&b, test_tmp("a.txt")) == XLAT_OK && xlat_atomic_open(&c, test_tmp("c.txt")) == XLAT_OK);
  fputs("half", b.f);
  xlat_atomic_remove_temps();
  CHECK(!exists(test_tmp("a.txt.tmp")) && !exists(test_tmp("c.txt.tmp")));
  xlat_atomic_abort(&b);
  xlat_atomic_abort(&c);
  FILE *f = fopen(test_tmp("a.txt"), "r");
  char line[16] = "";
  CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "hello\n") == 0);
  if (f) fclose(f);
  /* a pipe is written in place (there is nothing to rename over), and no temporary appears beside it */
  CHECK(mkfifo(test_tmp("fifo"), 0600) == 0);
  int rd = open(test_tmp("fifo"), O_RDWR | O_NONBLOCK); /* holds the read end so opening for writing does not block */
  CHECK(rd >= 0);
  CHECK(xlat_atomic_write_file(test_tmp("fifo"), "abc", 3) == XLAT_OK && !exists(test_tmp("fifo.tmp")));
  char got[4] = "";
  CHECK(rd >= 0 && read(rd, got, 3) == 3 && memcmp(got, "abc", 3) == 0);
  if (rd >= 0) close(rd);
  /* a symbolic link is followed: its target is replaced and the link stays a link */
  struct stat st;
  CHECK(symlink("a.txt", test_tmp("link")) == 0);
  CHECK(xlat_atomic_write_file(test_tmp("link"), "via link\n", 9) == XLAT_OK);
  CHECK(lstat(test_tmp("link"), &st) == 0 && S_ISLNK(st.st_mode));
  f = fopen(test_tmp("a.txt"), "r");
  CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "via link\n") == 0);
  if (f) fclose(f);
  remove(test_tmp("link"));
  /* a missing directory: the error names the temporary it could not create */
  CHECK(xlat_atomic_write_file(test_tmp("no/such/x"), "x", 1) == XLAT_ERR_IO && strstr(xlat_last_error(), "no/such/x"));
}

int main(void) {
  test_fail_wraps();
  test_text();
  test_atomic();
  remove(test_tmp("a.txt"));
  remove(test_tmp("fifo"));
  rmdir(test_tmp(NULL));
  TEST_END();
}
