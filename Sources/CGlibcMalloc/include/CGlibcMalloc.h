// glibc's allocator tuning (<malloc.h>), which Swift's Glibc module does not
// export. Used by gatewayd only; see Sources/GatewayDaemon/MallocArenas.swift.
#ifndef CGLIBCMALLOC_H
#define CGLIBCMALLOC_H

/// Caps the number of malloc arenas (M_ARENA_MAX); returns 1 on success, 0 elsewhere than glibc.
int glibc_malloc_limit_arenas(int count);

/// Returns freed heap pages to the system (malloc_trim(0)); 1 if any were released.
int glibc_malloc_release_free_pages(void);

#endif
