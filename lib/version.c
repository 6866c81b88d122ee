#include "version.h"

/* The Makefile stamps this one object (VERSION, from git describe); nothing else defines it. */
#ifndef VIC_VERSION
#error "VIC_VERSION is defined by the Makefile for lib/version.c"
#endif

const char *vic_version(void)
{
    return VIC_VERSION;
}
