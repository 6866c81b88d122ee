/*
 * version.h - the build's version string, the one every binary reports.
 */
#ifndef VIC_VERSION_H
#define VIC_VERSION_H

/* "v0.1.0-<git describe>", e.g. "v0.1.0-1a2b3c4" or "v0.1.0-1a2b3c4-dirty". */
const char *vic_version(void);

#endif
