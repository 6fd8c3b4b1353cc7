// glibc's allocator tuning (<malloc.h>), which Swift's Glibc module does not
// export. Used by gatewayd only; see Sources/GatewayDaemon/MallocArenas.swift.
// Linking this target also limits the process to one malloc arena, set by a
// constructor before main (GlibcMalloc.c).
#ifndef CGLIBCMALLOC_H
#define CGLIBCMALLOC_H

/// Returns freed heap pages to the system (malloc_trim(0)); 1 if any were released.
int glibc_malloc_release_free_pages(void);

#endif
