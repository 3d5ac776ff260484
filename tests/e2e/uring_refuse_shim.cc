// LD_PRELOAD shim for the e2e test of the io_uring-refused start-up path: makes
// liburing's ring set-up fail as a seccomp profile that blocks io_uring_setup
// (Docker's default) would, with EPERM.
#include <cerrno>

struct io_uring;
struct io_uring_params;

extern "C" int io_uring_queue_init_params(unsigned entries, struct io_uring* ring,
                                          struct io_uring_params* p) {
  (void)entries;
  (void)ring;
  (void)p;
  return -EPERM;
}
