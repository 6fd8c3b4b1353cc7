#include "CGlibcMalloc.h"
#include <stdlib.h>  // first: defines __GLIBC__

#if defined(__GLIBC__)
#include <malloc.h>

int glibc_malloc_release_free_pages(void) { return malloc_trim(0); }

// One arena for the whole process, set before main: threads pick their arena
// at their first allocation, and Swift's runtime starts threads before any
// Swift code of ours runs. Only gatewayd links this target. An operator's
// MALLOC_ARENA_MAX still wins. Why: Sources/GatewayDaemon/MallocArenas.swift.
__attribute__((constructor)) static void gatewayd_single_malloc_arena(void) {
    if (getenv("MALLOC_ARENA_MAX") == NULL) mallopt(M_ARENA_MAX, 1);
}
#else
int glibc_malloc_release_free_pages(void) { return 0; }
#endif
