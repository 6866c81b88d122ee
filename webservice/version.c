#include "webservice/service.h"

#ifndef VIC_VERSION
#define VIC_VERSION "v0.1.0-dev"
#endif

const char *ws_version(void)
{
    return VIC_VERSION;
}
